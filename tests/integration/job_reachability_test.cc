// JOB unreachable while streams watch, on real processes: jobgw stays SERVING (it must stay in the
// load balancer) while its named JOB check, /healthz's detail, jobgw_job_up and every stream say
// JOB is unreachable; when JOB comes back without the job (a fresh jobsim), the streams hear that
// JOB answers again and then end NOT_FOUND saying the outcome is unknown, never FINISHED.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <string>

#include "grpc_probes.grpc.pb.h"
#include "tests/integration/gateway_stack.h"
#include "tests/integration/stack_probes.h"
#include "tests/support/http_client.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;
using HealthStatus = grpc::health::v1::HealthCheckResponse;

int health(GatewayStack& stack, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(stack.channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 5s);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  HealthStatus response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return -static_cast<int>(status.error_code());
  return response.status();
}

bool saw(const StreamWatcher& w, v1::EventKind kind) {
  for (const auto& e : w.events()) {
    if (e.kind() == kind) return true;
  }
  return false;
}

TEST(JobReachabilityTest, OutageIsVisibleAndAJobLostInItIsNotFinished) {
  GatewayStack stack({.hosts = 3,
                      .jobsim_args = {},
                      .jobgw_args = {"--job.unreachable_after_ms=1000",
                                     "--watch.lost_grace_ms=2000", "--watch.poll_ceiling_ms=500"},
                      .callback = false,
                      .credentials_json = {}});
  ASSERT_TRUE(
      wait_until([&] { return health(stack, "jobgw.v1.JOB") == HealthStatus::SERVING; }, 10s))
      << "the startup probe finds JOB" << stack.logs();
  EXPECT_EQ(metric_value(jobgw_metrics(stack), "jobgw_job_up"), 1);

  grpc::ClientContext submit;
  v1::JobRef ref;
  ASSERT_TRUE(
      stack.stub().ExecuteScript(&submit, script_request("sleep 120", {101, 102}), &ref).ok());
  StreamWatcher first(stack.stub(), ref.job_instance_id(), 90s);
  ASSERT_TRUE(wait_until([&] { return first.event_count() > 0; }, 10s));

  stack.set_faults({"*:status=503"});
  ASSERT_TRUE(wait_until([&] { return saw(first, v1::EVENT_KIND_JOB_UNREACHABLE); }, 20s))
      << stack.logs();
  v1::StatusEvent notice;
  for (const auto& e : first.events()) {
    if (e.kind() == v1::EVENT_KIND_JOB_UNREACHABLE) notice = e;
  }
  EXPECT_GT(notice.reachability().unreachable_since_ms(), 0);
  EXPECT_EQ(notice.reachability().last_error(), "HTTP 503");
  EXPECT_FALSE(notice.has_snapshot());

  // jobgw itself serves on; only the named check, /healthz's detail and the gauge say JOB is down.
  EXPECT_EQ(health(stack, ""), HealthStatus::SERVING);
  EXPECT_EQ(health(stack, "jobgw.v1.JobGateway"), HealthStatus::SERVING);
  EXPECT_EQ(health(stack, "jobgw.v1.JOB"), HealthStatus::NOT_SERVING);
  HttpResponse healthz = http_get(stack.http_port(), "/healthz");
  EXPECT_EQ(healthz.status, 200);
  EXPECT_NE(healthz.body.find("job: unreachable since"), std::string::npos) << healthz.body;
  EXPECT_EQ(metric_value(jobgw_metrics(stack), "jobgw_job_up"), 0);

  // A stream opened during the outage gets the last state jobgw read and the notice with it.
  StreamWatcher second(stack.stub(), ref.job_instance_id(), 90s);
  ASSERT_TRUE(wait_until([&] { return second.event_count() >= 2; }, 10s));
  EXPECT_EQ(second.events()[0].kind(), v1::EVENT_KIND_SNAPSHOT);
  EXPECT_EQ(second.events()[1].kind(), v1::EVENT_KIND_JOB_UNREACHABLE);

  // JOB comes back as a fresh jobsim: reachable again, but the job is gone.
  stack.restart_jobsim();
  ASSERT_TRUE(wait_until([&] { return saw(first, v1::EVENT_KIND_JOB_REACHABLE); }, 20s))
      << stack.logs();
  EXPECT_TRUE(
      wait_until([&] { return health(stack, "jobgw.v1.JOB") == HealthStatus::SERVING; }, 10s));
  EXPECT_EQ(metric_value(jobgw_metrics(stack), "jobgw_job_up"), 1);
  ASSERT_TRUE(wait_until([&] { return first.ended() && second.ended(); }, 40s)) << stack.logs();
  for (const StreamWatcher* w : {&first, &second}) {
    EXPECT_EQ(w->status().error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_NE(w->status().error_message().find("outcome is unknown"), std::string::npos)
        << w->status().error_message();
    EXPECT_FALSE(saw(*w, v1::EVENT_KIND_FINISHED));
  }
}

}  // namespace
}  // namespace jobgw::testing
