// A long JOB outage while 100 streams watch: JOB answers nothing useful (connection resets and
// 503s on every API) for JOBGW_OUTAGE_SECONDS (default 9; run by hand with 60:
// `JOBGW_OUTAGE_SECONDS=60 ctest -L long`). No stream may end during the outage; once JOB is
// back every stream ends with FINISHED and OK, and jobgw holds no stream afterwards.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/stack_probes.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;

int outage_seconds() {
  const char* text = std::getenv("JOBGW_OUTAGE_SECONDS");
  if (text == nullptr) return 9;
  const int seconds = std::atoi(text);
  return seconds > 0 && seconds <= 3600 ? seconds : 9;
}

TEST(JobOutageTest, HundredStreamsSurviveAnOutageAndFinishAfterRecovery) {
  const int outage = outage_seconds();
  constexpr int kJobs = 20;
  constexpr int kStreamsPerJob = 5;
  StackOptions options;
  options.hosts = kJobs;
  options.jobsim_args = {"--max-procs", "64"};
  GatewayStack stack(options);

  // Half the jobs end during the outage, half after it: both must be reported once JOB is back.
  std::vector<std::int64_t> jobs;
  for (int i = 0; i < kJobs; ++i) {
    const int sleep_s = i % 2 == 0 ? outage / 2 : outage + 2;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 20s);
    v1::JobRef ref;
    grpc::Status status = stack.stub().ExecuteScript(
        &context, script_request("sleep " + std::to_string(sleep_s) + "; echo done", {101 + i}),
        &ref);
    ASSERT_TRUE(status.ok()) << status.error_message();
    jobs.push_back(ref.job_instance_id());
  }

  // A few channels, so the streams do not all share one HTTP/2 connection.
  std::vector<std::unique_ptr<v1::JobGateway::Stub>> stubs;
  for (int c = 0; c < 4; ++c) {
    stubs.push_back(v1::JobGateway::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(stack.grpc_port()), grpc::InsecureChannelCredentials(), [c] {
          grpc::ChannelArguments args;
          args.SetInt("jobgw.test.channel", c);  // distinct args: distinct connections
          return args;
        }())));
  }
  const auto stream_timeout = std::chrono::seconds(outage + 120);
  std::vector<std::unique_ptr<StreamWatcher>> watchers;
  for (int i = 0; i < kJobs * kStreamsPerJob; ++i) {
    watchers.push_back(std::make_unique<StreamWatcher>(*stubs[i % stubs.size()],
                                                       jobs[i / kStreamsPerJob], stream_timeout));
  }
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& w : watchers) {
          if (w->event_count() == 0) return false;
        }
        return true;
      },
      60s))
      << "not every stream got its first snapshot";

  const std::int64_t faults_before =
      stack.jobsim_stats()["faults_injected_total"].get<std::int64_t>();
  stack.set_faults({"*:reset@0.5", "*:status=503"});
  // The outage itself is the scenario: nothing is waited for here, JOB is just down this long.
  std::this_thread::sleep_for(std::chrono::seconds(outage));
  const std::int64_t faults_during =
      stack.jobsim_stats()["faults_injected_total"].get<std::int64_t>() - faults_before;
  int ended_during_outage = 0;
  for (const auto& w : watchers) ended_during_outage += w->ended() ? 1 : 0;
  stack.clear_faults();
  EXPECT_GT(faults_during, 0) << "jobgw did not even try JOB during the outage";
  EXPECT_EQ(ended_during_outage, 0);
  EXPECT_TRUE(stack.jobgw().running());

  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& w : watchers) {
          if (!w->ended()) return false;
        }
        return true;
      },
      120s, 100ms))
      << "streams still open two minutes after JOB came back";
  for (std::size_t i = 0; i < watchers.size(); ++i) {
    SCOPED_TRACE("stream " + std::to_string(i));
    EXPECT_TRUE(watchers[i]->status().ok()) << watchers[i]->status().error_message();
    auto events = watchers[i]->events();
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().kind(), v1::EVENT_KIND_FINISHED);
    EXPECT_EQ(events.back().snapshot().status(), v1::JOB_STATUS_SUCCESS);
  }
  std::printf("OUTAGE| %d s outage, %zu streams, %lld faulted JOB requests, 0 streams lost\n",
              outage, watchers.size(), static_cast<long long>(faults_during));
  watchers.clear();

  std::string text;
  EXPECT_TRUE(wait_until(
      [&] {
        text = jobgw_metrics(stack);
        return metric_sample(text, "jobgw_subscribers").value_or(-1) == 0 &&
               metric_sum(text, "jobgw_admission_in_use") == 0;
      },
      30s))
      << text;
  if (HasFailure()) ADD_FAILURE() << stack.logs();
}

}  // namespace
}  // namespace jobgw::testing
