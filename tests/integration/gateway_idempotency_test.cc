// request_id as an idempotency key, end to end: jobsim counts what reached JOB.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>
#include <vector>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/metrics_text.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

v1::ExecuteScriptRequest keyed(const std::string& request_id, const std::string& script) {
  v1::ExecuteScriptRequest r = script_request(script, {101, 102});
  r.set_request_id(request_id);
  return r;
}

v1::TransferFileRequest transfer_request(const std::string& request_id) {
  v1::TransferFileRequest r;
  r.mutable_scope()->set_id("1");
  auto* source = r.add_sources();
  source->add_files("/etc/hostname");
  source->mutable_servers()->add_host_ids(101);
  r.set_target_path("/tmp/idempotency/");
  r.mutable_targets()->add_host_ids(102);
  r.set_request_id(request_id);
  return r;
}

TEST(GatewayIdempotency, TheSameRequestIdTwiceAnswersTheFirstJobAndJobSeesOneSubmit) {
  GatewayStack stack(three_hosts());
  Submitted first = execute(stack.stub(), keyed("rid-twice", "echo once"));
  ASSERT_TRUE(first.status.ok()) << first.status.error_message() << stack.logs();
  Submitted second = execute(stack.stub(), keyed("rid-twice", "echo once"));
  ASSERT_TRUE(second.status.ok()) << second.status.error_message();
  EXPECT_EQ(second.ref.job_instance_id(), first.ref.job_instance_id());
  EXPECT_EQ(second.ref.step_instance_id(), first.ref.step_instance_id());
  EXPECT_EQ(second.ref.job_instance_name(), first.ref.job_instance_name());
  EXPECT_EQ(submits_reaching_job(stack, "fast_execute_script"), 1);
  EXPECT_EQ(stack.jobsim_stats()["jobs"]["created_total"].get<int>(), 1);

  // Without a request_id every call is a new job.
  Submitted plain1 = execute(stack.stub(), script_request("echo plain", {101}));
  Submitted plain2 = execute(stack.stub(), script_request("echo plain", {101}));
  ASSERT_TRUE(plain1.status.ok() && plain2.status.ok());
  EXPECT_NE(plain1.ref.job_instance_id(), plain2.ref.job_instance_id());
  EXPECT_EQ(submits_reaching_job(stack, "fast_execute_script"), 3);

  const std::string metrics = scrape_metrics(stack.metrics_port());
  EXPECT_EQ(metric_value(metrics, "jobgw_idempotent_submits_total{outcome=\"submitted\"}"), 1);
  EXPECT_EQ(metric_value(metrics, "jobgw_idempotent_submits_total{outcome=\"replayed\"}"), 1);
}

TEST(GatewayIdempotency, TransferFileToo) {
  GatewayStack stack(three_hosts());
  v1::JobRef refs[2];
  for (v1::JobRef& ref : refs) {
    grpc::ClientContext context;
    grpc::Status status = stack.stub().TransferFile(&context, transfer_request("rid-xfer"), &ref);
    ASSERT_TRUE(status.ok()) << status.error_message() << stack.logs();
  }
  EXPECT_EQ(refs[1].job_instance_id(), refs[0].job_instance_id());
  EXPECT_EQ(submits_reaching_job(stack, "fast_transfer_file"), 1);
}

TEST(GatewayIdempotency, ConcurrentDuplicatesReachJobOnce) {
  // JOB answers the submit 1.5 s late, so every duplicate arrives while the first is in flight.
  GatewayStack stack(three_hosts({"--fault", "fast_execute_script:latency=1500"}));
  constexpr int kCallers = 8;
  std::vector<Submitted> answers(kCallers);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back(
        [&, i] { answers[i] = execute(stack.stub(), keyed("rid-concurrent", "echo together")); });
  }
  for (auto& t : callers) t.join();
  for (const Submitted& a : answers) {
    ASSERT_TRUE(a.status.ok()) << a.status.error_message() << stack.logs();
    EXPECT_EQ(a.ref.job_instance_id(), answers[0].ref.job_instance_id());
  }
  EXPECT_EQ(submits_reaching_job(stack, "fast_execute_script"), 1);
  const std::string metrics = scrape_metrics(stack.metrics_port());
  // However the callers interleaved, one asked JOB and the others waited for it or (if one
  // arrived after the answer) read it back.
  EXPECT_EQ(metric_value(metrics, "jobgw_idempotent_submits_total{outcome=\"submitted\"}"), 1);
  EXPECT_EQ(metric_value(metrics, "jobgw_idempotent_submits_total{outcome=\"joined\"}") +
                metric_value(metrics, "jobgw_idempotent_submits_total{outcome=\"replayed\"}"),
            kCallers - 1);
}

TEST(GatewayIdempotency, TheSameRequestIdWithAnotherBodyIsFailedPreconditionNamingIt) {
  GatewayStack stack(three_hosts());
  Submitted first = execute(stack.stub(), keyed("rid-conflict", "echo one"));
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  Submitted other = execute(stack.stub(), keyed("rid-conflict", "echo two"));
  EXPECT_EQ(other.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(other.status.error_message().find("request_id: 'rid-conflict'"), std::string::npos)
      << other.status.error_message();
  // Another RPC under the same key is another body as well.
  grpc::ClientContext context;
  v1::JobRef ref;
  grpc::Status transfer =
      stack.stub().TransferFile(&context, transfer_request("rid-conflict"), &ref);
  EXPECT_EQ(transfer.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(submits_reaching_job(stack, "fast_execute_script"), 1);
  EXPECT_EQ(submits_reaching_job(stack, "fast_transfer_file"), 0);
  const std::string metrics = scrape_metrics(stack.metrics_port());
  EXPECT_EQ(metric_value(metrics, "jobgw_idempotent_submits_total{outcome=\"conflict\"}"), 2);
}

TEST(GatewayIdempotency, ABadRequestIdIsInvalidArgumentNamingTheField) {
  GatewayStack stack(three_hosts());
  Submitted spaced = execute(stack.stub(), keyed("has space", "echo"));
  EXPECT_EQ(spaced.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(spaced.status.error_message().rfind("request_id:", 0), 0u)
      << spaced.status.error_message();
  Submitted longer = execute(stack.stub(), keyed(std::string(129, 'x'), "echo"));
  EXPECT_EQ(longer.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(submits_reaching_job(stack, "fast_execute_script"), 0);
}

TEST(GatewayIdempotency, AFailedFirstSubmitLetsTheRetrySubmit) {
  // The first submit gets JOB's quota error; nothing is remembered, so the retry goes through.
  GatewayStack stack(three_hosts({"--fault", "fast_execute_script:code=1244032#1"}));
  Submitted failed = execute(stack.stub(), keyed("rid-retry", "echo retry"));
  EXPECT_EQ(failed.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << failed.status.error_message();
  Submitted retried = execute(stack.stub(), keyed("rid-retry", "echo retry"));
  ASSERT_TRUE(retried.status.ok()) << retried.status.error_message();
  EXPECT_GT(retried.ref.job_instance_id(), 0);
  EXPECT_EQ(submits_reaching_job(stack, "fast_execute_script"), 2);
}

TEST(GatewayIdempotency, TheRequestIdStillAnswersTheFirstJobAfterSigkill) {
  GatewayStack stack(three_hosts());
  Submitted first = execute(stack.stub(), keyed("rid-kill", "echo survive"));
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  stack.restart_jobgw(SIGKILL);
  Submitted again = execute(stack.stub(), keyed("rid-kill", "echo survive"));
  ASSERT_TRUE(again.status.ok()) << again.status.error_message() << stack.logs();
  EXPECT_EQ(again.ref.job_instance_id(), first.ref.job_instance_id());
  EXPECT_EQ(again.ref.step_instance_id(), first.ref.step_instance_id());
  Submitted other = execute(stack.stub(), keyed("rid-kill", "echo something else"));
  EXPECT_EQ(other.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(submits_reaching_job(stack, "fast_execute_script"), 1);
  EXPECT_EQ(metric_value(scrape_metrics(stack.metrics_port()),
                         "jobgw_idempotent_submits_total{outcome=\"replayed\"}"),
            1);
}

TEST(GatewayIdempotency, TheWindowIsConfigurable) {
  GatewayStack stack(three_hosts({}, {"--idempotency.window_s=1"}));
  Submitted first = execute(stack.stub(), keyed("rid-window", "echo window"));
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  // Past the window the key is free again: wait until a submit under it creates a new job.
  Submitted later;
  ASSERT_TRUE(wait_until(
      [&] {
        later = execute(stack.stub(), keyed("rid-window", "echo window"));
        return later.status.ok() && later.ref.job_instance_id() != first.ref.job_instance_id();
      },
      std::chrono::seconds(20), std::chrono::milliseconds(200)))
      << stack.logs();
  EXPECT_GE(submits_reaching_job(stack, "fast_execute_script"), 2);
}

}  // namespace
}  // namespace jobgw::testing
