// Replicas on one Redis watch as one gateway: one poll per job, the same events everywhere,
// adoption when the owner dies, resumption on any replica.
#include <gtest/gtest.h>
#include <signal.h>

#include <future>
#include <thread>
#include <vector>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/metrics_text.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;

StackOptions replicas(int n) {
  StackOptions options = three_hosts();
  options.replicas = n;
  return options;
}

std::vector<std::uint64_t> seqs(const WatchResult& r) {
  std::vector<std::uint64_t> out;
  for (const auto& e : r.events) out.push_back(e.seq());
  return out;
}

TEST(ReplicaWatch, WatchersOnEveryReplicaSeeTheSameEventsFromOnePoller) {
  GatewayStack stack(replicas(3));
  Submitted job = execute(stack.node(0).stub(),
                          script_request("sleep 1; echo one; sleep 1; echo two", {101, 102, 103}));
  ASSERT_TRUE(job.status.ok()) << job.status.error_message();
  const std::int64_t id = job.ref.job_instance_id();
  std::vector<std::future<WatchResult>> watches;
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 3; ++k) {
      JobgwNode& node = stack.node(i);
      watches.push_back(
          std::async(std::launch::async, [&node, id] { return watch_to_end(node.stub(), id); }));
    }
  }
  std::vector<WatchResult> results;
  for (auto& w : watches) results.push_back(w.get());
  for (const auto& r : results) {
    ASSERT_TRUE(r.status.ok()) << r.status.error_message() << stack.logs();
    ASSERT_FALSE(r.events.empty());
    EXPECT_EQ(r.events.back().kind(), v1::EVENT_KIND_FINISHED);
  }
  // Streams that started together see the same seqs from the first change on.
  const auto reference = seqs(results[0]);
  for (const auto& r : results) EXPECT_EQ(seqs(r).back(), reference.back());

  // One job, one poller: only one replica read it.
  int readers = 0;
  for (int i = 0; i < 3; ++i) {
    const std::string m = scrape_metrics(stack.node(i).metrics_port());
    if (metric_sum(m, "jobgw_job_reads_total") > 0) ++readers;
  }
  EXPECT_EQ(readers, 1);
}

}  // namespace
}  // namespace jobgw::testing
