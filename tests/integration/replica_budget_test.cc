// watch.reads_per_second is the deployment's, not each replica's: jobsim counts JOB's status
// reads per wall-clock second while three replicas poll 300 jobs.
#include <gtest/gtest.h>

#include <cstdio>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/metrics_text.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;

TEST(ReplicaBudget, ThreeReplicasPolling300JobsKeepEverySecondWithinTheOneBudget) {
  GatewayStack stack(replicas(
      3, {"--executor", "synthetic", "--synthetic-min-ms", "2000", "--synthetic-max-ms", "5000"},
      {"--watch.reads_per_second=50", "--watch.read_burst=2.5", "--state.replicas=3"}));
  constexpr int kJobs = 300;
  for (int i = 0; i < kJobs; ++i) {
    Submitted s = execute(stack.node(i % 3).stub(), script_request("echo budget", {101}));
    ASSERT_TRUE(s.status.ok()) << s.status.error_message();
  }
  ASSERT_TRUE(wait_until(
      [&] {
        double finished = 0;
        for (int i = 0; i < 3; ++i) {
          finished +=
              metric_sum(scrape_metrics(stack.node(i).metrics_port()), "jobgw_jobs_finished_total");
        }
        return finished >= kJobs;
      },
      120s, 250ms))
      << stack.logs();
  nlohmann::json by_second = stack.jobsim_stats()["status_reads_by_second"];
  ASSERT_TRUE(by_second.is_object());
  std::int64_t max = 0;
  std::int64_t total = 0;
  for (auto it = by_second.begin(); it != by_second.end(); ++it) {
    max = std::max(max, it.value().get<std::int64_t>());
    total += it.value().get<std::int64_t>();
  }
  std::printf(
      "300 jobs, 3 replicas, budget 50/s: %lld reads over %zu seconds, at most %lld in "
      "one second\n",
      static_cast<long long>(total), by_second.size(), static_cast<long long>(max));
  EXPECT_LE(static_cast<double>(max), 52.5);
  // The budget was the limit (so the test measured it), shared by the three.
  EXPECT_GE(max, 45);
  int readers = 0;
  for (int i = 0; i < 3; ++i) {
    if (metric_value(
            scrape_metrics(stack.node(i).metrics_port()),
            "jobgw_job_http_attempts_total{api=\"get_job_instance_status\",outcome=\"2xx\"}") > 0) {
      ++readers;
    }
  }
  EXPECT_EQ(readers, 3);
}

}  // namespace
}  // namespace jobgw::testing
