// The synthetic executor's --synthetic-log-bytes: big logs without running anything.
#include <gtest/gtest.h>

#include "jobsim/synthetic_executor.h"
#include "tests/jobsim/jobsim_fixture.h"

namespace jobsim_test {
namespace {

using namespace std::chrono_literals;

TEST(JobsimSyntheticLogTest, ExactSizeStartingWithTheLine) {
  EXPECT_EQ(jobsim::synthetic_log("done", 0), "done");
  for (size_t bytes : {1u, 3u, 5u, 100u, 8192u, 100000u}) {
    SCOPED_TRACE(bytes);
    const std::string log = jobsim::synthetic_log("done", bytes);
    ASSERT_EQ(log.size(), bytes);
    EXPECT_EQ(log.back(), '\n');
    if (bytes >= 5) {
      EXPECT_EQ(log.rfind("done\n", 0), 0u);
    }
  }
}

TEST(JobsimSyntheticLogTest, EveryHostLogsTheAskedBytes) {
  Jobsim sim({"--hosts", "3", "--executor", "synthetic", "--synthetic-min-ms", "10",
              "--synthetic-max-ms", "50", "--synthetic-log-bytes", "8192"});
  json data = sim.run_script("this never runs", {101, 102, 103});
  const int64_t job = data["job_instance_id"];
  sim.wait_finished(job, 10s);
  auto logs = sim.script_logs(job, data["step_instance_id"], {101, 102, 103});
  ASSERT_EQ(logs.size(), 3u);
  for (const auto& [host, log] : logs) {
    SCOPED_TRACE(host);
    EXPECT_EQ(log.size(), 8192u);
    EXPECT_EQ(log.rfind("[jobsim synthetic] host " + std::to_string(host), 0), 0u);
  }
}

TEST(JobsimSyntheticLogTest, DefaultIsOneLine) {
  Jobsim sim({"--hosts", "1", "--executor", "synthetic", "--synthetic-min-ms", "10",
              "--synthetic-max-ms", "20"});
  json data = sim.run_script("x", {101});
  const int64_t job = data["job_instance_id"];
  sim.wait_finished(job, 10s);
  auto logs = sim.script_logs(job, data["step_instance_id"], {101});
  ASSERT_EQ(logs.size(), 1u);
  const std::string& log = logs[101];
  EXPECT_EQ(log.find('\n'), log.size() - 1) << log;
  EXPECT_NE(log.find("exit code 0"), std::string::npos);
}

}  // namespace
}  // namespace jobsim_test
