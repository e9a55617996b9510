// Replicas on one Redis watch as one gateway: one poll per job, the same events everywhere,
// adoption when the owner dies, resumption on any replica.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/metrics_text.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;

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
    const double reads = metric_value(
        m, "jobgw_job_http_attempts_total{api=\"get_job_instance_status\",outcome=\"2xx\"}");
    if (reads > 0) ++readers;
  }
  EXPECT_EQ(readers, 1);

  // A finished job leaves nothing in Redis for good: its keys expire with the retention, its
  // lease is gone, and it left the registry.
  const std::string job_keys = "jobgw:job:{biz:1:" + std::to_string(id) + "}:";
  for (const char* what : {"state", "log", "epoch"}) {
    const std::string ttl = stack.redis()->command({"PTTL", job_keys + what});
    EXPECT_GT(std::stoll(ttl), 0) << what << " " << ttl;
  }
  EXPECT_EQ(stack.redis()->command({"EXISTS", job_keys + "lease"}), "0");
  EXPECT_EQ(stack.redis()->command({"ZSCORE", "jobgw:jobs", "biz:1:" + std::to_string(id)}), "");
}

// The reads of one job as jobsim counted them, once its watchers all saw FINISHED.
std::int64_t reads_watching(GatewayStack& stack, const std::string& script, int watchers) {
  Submitted job = execute(stack.node(0).stub(), script_request(script, {101}));
  EXPECT_TRUE(job.status.ok()) << job.status.error_message();
  const std::int64_t id = job.ref.job_instance_id();
  std::vector<std::future<WatchResult>> watches;
  for (int i = 0; i < watchers; ++i) {
    JobgwNode& node = stack.node(i % stack.replicas());
    watches.push_back(
        std::async(std::launch::async, [&node, id] { return watch_to_end(node.stub(), id); }));
  }
  std::set<std::uint64_t> finished_seqs;
  for (auto& w : watches) {
    WatchResult r = w.get();
    EXPECT_TRUE(r.status.ok()) << r.status.error_message();
    if (!r.events.empty() && r.events.back().kind() == v1::EVENT_KIND_FINISHED) {
      finished_seqs.insert(r.events.back().seq());
    }
  }
  // Every watcher saw FINISHED, under one seq.
  EXPECT_EQ(finished_seqs.size(), 1u);
  return stack.status_reads(id);
}

TEST(ReplicaWatch, ThreeHundredWatchersOnThreeReplicasCostWhatOneWatcherOnOneCosts) {
  const std::string script = "sleep 3; echo done";
  std::int64_t one = 0;
  {
    GatewayStack single(three_hosts());
    one = reads_watching(single, script, 1);
  }
  GatewayStack stack(replicas(3));
  std::int64_t many = reads_watching(stack, script, 300);
  RecordProperty("reads_one_watcher_one_replica", static_cast<int>(one));
  RecordProperty("reads_300_watchers_3_replicas", static_cast<int>(many));
  std::printf("status reads: 1 watcher on 1 replica %lld, 300 watchers on 3 replicas %lld\n",
              static_cast<long long>(one), static_cast<long long>(many));
  EXPECT_LE(static_cast<double>(many), 1.1 * static_cast<double>(one) + 1) << stack.logs();
}

TEST(ReplicaWatch, KillingTheOwnerMidJobLosesNoStreamAndNoJob) {
  GatewayStack stack(replicas(3));
  // Two jobs submitted through replica 0, which owns both: one watched, one watched by nobody.
  Submitted watched = execute(stack.node(0).stub(), script_request("sleep 6; echo w", {101}));
  Submitted unwatched = execute(stack.node(0).stub(), script_request("sleep 6; echo u", {102}));
  ASSERT_TRUE(watched.status.ok() && unwatched.status.ok());
  const std::int64_t id = watched.ref.job_instance_id();

  // A stream on the owner: read its first events, remember the seq, then the owner dies.
  grpc::ClientContext context;
  v1::WatchStatusRequest request;
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(id);
  auto reader = stack.node(0).stub().WatchStatus(&context, request);
  v1::StatusEvent first;
  ASSERT_TRUE(reader->Read(&first));
  const std::uint64_t seen = first.seq();
  auto survivor = std::async(std::launch::async,
                             [&stack, id] { return watch_to_end(stack.node(1).stub(), id); });
  std::this_thread::sleep_for(500ms);
  stack.node(0).stop(SIGKILL);
  reader.reset();

  // The killed replica's client reconnects elsewhere with after_seq.
  WatchResult resumed = watch_to_end(stack.node(2).stub(), id, seen);
  ASSERT_TRUE(resumed.status.ok()) << resumed.status.error_message() << stack.logs();
  ASSERT_FALSE(resumed.events.empty());
  EXPECT_TRUE(resumed.events.front().resumed()) << resumed.events.front().DebugString();
  EXPECT_EQ(resumed.events.back().kind(), v1::EVENT_KIND_FINISHED);
  WatchResult other = survivor.get();
  ASSERT_TRUE(other.status.ok()) << other.status.error_message();
  EXPECT_EQ(other.events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(other.events.back().seq(), resumed.events.back().seq());

  // Nobody watched the other job; a survivor adopted and polled it to its end anyway.
  ASSERT_TRUE(wait_until(
      [&] {
        double finished = 0;
        for (int i = 1; i < 3; ++i) {
          finished +=
              metric_sum(scrape_metrics(stack.node(i).metrics_port()), "jobgw_jobs_finished_total");
        }
        return finished >= 2;
      },
      30s))
      << stack.logs();
  double adopted = 0;
  for (int i = 1; i < 3; ++i) {
    adopted += metric_value(scrape_metrics(stack.node(i).metrics_port()),
                            "jobgw_replica_leases_acquired_total{kind=\"adopt\"}");
  }
  EXPECT_GE(adopted, 2);
  WatchResult late = watch_to_end(stack.node(1).stub(), unwatched.ref.job_instance_id());
  ASSERT_TRUE(late.status.ok());
  EXPECT_EQ(late.events.back().kind(), v1::EVENT_KIND_FINISHED);
}

TEST(ReplicaWatch, AnOwnerStoppedWithSigtermGivesItsLeasesBack) {
  GatewayStack stack(replicas(2));
  Submitted job = execute(stack.node(0).stub(), script_request("sleep 3; echo t", {101}));
  ASSERT_TRUE(job.status.ok());
  const std::int64_t id = job.ref.job_instance_id();
  // Replica 0 took the lease as it submitted, before replica 1's stream could ask for it (the
  // lease goes to whichever asks Redis first; on a loaded machine the submitter's request was
  // once the later one, and then replica 0 had nothing to give back).
  ASSERT_TRUE(wait_until(
      [&stack] {
        return metric_value(scrape_metrics(stack.node(0).metrics_port()),
                            "jobgw_replica_leases_acquired_total{kind=\"submit\"}") == 1;
      },
      10s));
  auto watcher = std::async(std::launch::async,
                            [&stack, id] { return watch_to_end(stack.node(1).stub(), id); });
  std::this_thread::sleep_for(500ms);
  stack.node(0).stop(SIGTERM);
  EXPECT_NE(stack.node(0).logs().find("event=leases_released count=1 ok=true"), std::string::npos)
      << stack.node(0).logs();
  WatchResult r = watcher.get();
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(metric_value(scrape_metrics(stack.node(1).metrics_port()),
                         "jobgw_replica_leases_acquired_total{kind=\"adopt\"}"),
            1);
}

TEST(ReplicaWatch, ACallbackLandingOnAnotherReplicaMakesTheOwnerReadAtOnce) {
  TempDir dir("jobgw-cb");
  // Slow polls, so only the callback can bring FINISHED early. Replica 0 owns the job (it
  // submits it); JOB calls back on replica 1.
  StackOptions options = two_replicas_called_back_on_the_second(
      dir,
      {"--watch.poll_floor_ms=4000", "--watch.poll_ceiling_ms=4000", "--watch.poll_young_ms=0"});
  GatewayStack stack(options);
  auto started = std::chrono::steady_clock::now();
  Submitted job = execute(stack.node(0).stub(), script_request("sleep 1; echo cb", {101}));
  ASSERT_TRUE(job.status.ok()) << job.status.error_message();
  WatchResult r = watch_to_end(stack.node(0).stub(), job.ref.job_instance_id());
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(metric_value(scrape_metrics(stack.node(1).metrics_port()),
                         "jobgw_callbacks_total{outcome=\"accepted\"}"),
            1)
      << stack.logs();
  // A 1 s job: FINISHED came with the callback, not with the read 4 s after the first.
  EXPECT_LT(took, 3500ms) << stack.logs();
}

}  // namespace
}  // namespace jobgw::testing
