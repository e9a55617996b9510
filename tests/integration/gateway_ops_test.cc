// jobgw as operators see it: callbacks, JOB outages, health, reflection, metrics, SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <thread>

#include "grpc_probes.grpc.pb.h"
#include "grpc_reflection_probe.grpc.pb.h"
#include "tests/integration/gateway_stack.h"
#include "tests/support/http_client.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using Clock = std::chrono::steady_clock;

v1::JobRef submit(GatewayStack& stack, const v1::ExecuteScriptRequest& request) {
  grpc::ClientContext context;
  v1::JobRef ref;
  grpc::Status status = stack.stub().ExecuteScript(&context, request, &ref);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return ref;
}

TEST(GatewayOps, CallbackDeliversFinishedBeforeTheNextPoll) {
  // Polls are 20 s apart, so without the callback FINISHED could not arrive for ~20 s.
  const auto poll = std::chrono::seconds(20);
  GatewayStack stack({.hosts = 3,
                      .jobsim_args = {},
                      .jobgw_args = {"--watch.poll_floor_ms=20000", "--watch.poll_ceiling_ms=20000",
                                     "--watch.poll_jitter=0"},
                      .callback = true,
                      .credentials_json = {}});
  auto submitted = Clock::now();
  v1::JobRef ref = submit(stack, script_request("sleep 1; echo done", {101, 102}));
  WatchResult w = watch_to_end(stack.stub(), ref.job_instance_id(), 0, std::chrono::seconds(60));
  auto finished_at = Clock::now();
  ASSERT_TRUE(w.status.ok()) << w.status.error_message() << stack.logs();
  ASSERT_EQ(w.events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(w.events.back().snapshot().status(), v1::JOB_STATUS_SUCCESS);
  // Ordering only: FINISHED came before the first scheduled poll after submit would have run.
  EXPECT_LT(finished_at - submitted, poll) << stack.logs();
  // jobgw read the job on submit and on the callback, not on a timer.
  EXPECT_LE(stack.status_reads(ref.job_instance_id()), 4);
  nlohmann::json stats = stack.jobsim_stats();
  EXPECT_GE(stats["callbacks"].value("delivered", 0), 1) << stats.dump();
}

TEST(GatewayOps, StreamSurvivesJobOutageAndFinishesAfterRecovery) {
  GatewayStack stack({.hosts = 3,
                      .jobsim_args = {},
                      .jobgw_args = {"--watch.poll_ceiling_ms=1000"},
                      .callback = false,
                      .credentials_json = {}});
  v1::JobRef ref = submit(stack, script_request("sleep 4; echo survived", {101, 102}));
  std::thread outage([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stack.set_faults({"get_job_instance_status:reset@0.5", "get_job_instance_status:status=502"});
    std::this_thread::sleep_for(std::chrono::seconds(5));
    stack.clear_faults();
  });
  WatchResult w = watch_to_end(stack.stub(), ref.job_instance_id(), 0, std::chrono::seconds(90));
  outage.join();
  ASSERT_TRUE(w.status.ok()) << w.status.error_message() << stack.logs();
  ASSERT_EQ(w.events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(w.events.back().snapshot().status(), v1::JOB_STATUS_SUCCESS);
  nlohmann::json stats = stack.jobsim_stats();
  EXPECT_GT(stats["faults_injected_total"].get<int>(), 0) << stats.dump();
}

TEST(GatewayOps, HealthReflectionAndMetrics) {
  GatewayStack stack;
  {
    auto health = grpc::health::v1::Health::NewStub(stack.channel());
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = health->Check(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }
  {
    auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(stack.channel());
    grpc::ClientContext context;
    auto stream = reflection->ServerReflectionInfo(&context);
    grpc::reflection::v1alpha::ServerReflectionRequest request;
    request.set_list_services("");
    ASSERT_TRUE(stream->Write(request));
    stream->WritesDone();
    grpc::reflection::v1alpha::ServerReflectionResponse response;
    ASSERT_TRUE(stream->Read(&response));
    std::set<std::string> names;
    for (const auto& s : response.list_services_response().service()) names.insert(s.name());
    EXPECT_TRUE(names.count("jobgw.v1.JobGateway")) << response.DebugString();
    EXPECT_TRUE(names.count("grpc.health.v1.Health")) << response.DebugString();
    while (stream->Read(&response)) {
    }
    EXPECT_TRUE(stream->Finish().ok());
  }
  // Some traffic so every family has samples.
  v1::JobRef ref = submit(stack, script_request("echo metrics", {101}));
  ASSERT_TRUE(watch_to_end(stack.stub(), ref.job_instance_id()).status.ok());
  grpc::ClientContext context;
  v1::GetJobStatusRequest bad;
  v1::JobSnapshot ignored;
  stack.stub().GetJobStatus(&context, bad, &ignored);

  ASSERT_GT(stack.metrics_port(), 0);
  HttpResponse scrape = http_get(stack.metrics_port(), "/metrics");
  ASSERT_EQ(scrape.status, 200) << scrape.error;
  for (const char* family :
       {"jobgw_rpc_requests_total", "jobgw_rpc_duration_seconds", "jobgw_job_http_attempts_total",
        "jobgw_job_call_duration_seconds", "jobgw_watched_jobs", "jobgw_subscribers",
        "jobgw_events_total", "jobgw_callbacks_total", "jobgw_poll_interval_seconds",
        "jobgw_token_bucket_wait_seconds", "jobgw_jobs_finished_total",
        "jobgw_stream_duration_seconds", "jobgw_watch_ends_total", "jobgw_job_up",
        "jobgw_build_info", "process_cpu_seconds_total", "process_open_fds"}) {
    EXPECT_NE(scrape.body.find(family), std::string::npos) << family;
  }
  EXPECT_NE(scrape.body.find("code=\"INVALID_ARGUMENT\""), std::string::npos);
  EXPECT_NE(scrape.body.find("method=\"ExecuteScript\""), std::string::npos);
  // The watch is timed as a stream, apart from the unary calls' latency.
  EXPECT_EQ(
      metric_value(scrape.body, "jobgw_stream_duration_seconds_count{method=\"WatchStatus\"}"), 1)
      << scrape.body;
  EXPECT_EQ(
      scrape.body.find("jobgw_rpc_duration_seconds_count{code=\"OK\",method=\"WatchStatus\"}"),
      std::string::npos)
      << scrape.body;
}

TEST(GatewayOps, SigtermEndsStreamsUnavailableAndExitsCleanly) {
  GatewayStack stack({.hosts = 2,
                      .jobsim_args = {},
                      .jobgw_args = {"--shutdown_grace_ms=60000"},
                      .callback = false,
                      .credentials_json = {}});
  v1::JobRef ref = submit(stack, script_request("sleep 30", {101}));
  WatchResult w;
  std::thread watcher(
      [&] { w = watch_to_end(stack.stub(), ref.job_instance_id(), 0, std::chrono::seconds(30)); });
  ASSERT_TRUE(wait_until([&] { return stack.status_reads(ref.job_instance_id()) >= 2; },
                         std::chrono::seconds(10)));
  kill(stack.jobgw().pid(), SIGTERM);
  // The test's channel stays connected (idle once the stream ended). With nothing in flight
  // jobgw must not sit out its 60 s grace period because of that connection.
  int wait_status = stack.jobgw().wait_exit(std::chrono::seconds(30));
  watcher.join();
  ASSERT_NE(wait_status, -1) << "jobgw waited out its grace period with nothing in flight";
  EXPECT_TRUE(WIFEXITED(wait_status)) << wait_status;
  EXPECT_EQ(WEXITSTATUS(wait_status), 0) << stack.logs();
  EXPECT_EQ(w.status.error_code(), grpc::StatusCode::UNAVAILABLE) << w.status.error_message();
  ASSERT_FALSE(w.events.empty());
  EXPECT_EQ(w.events.front().kind(), v1::EVENT_KIND_SNAPSHOT);
}

}  // namespace
}  // namespace jobgw::testing
