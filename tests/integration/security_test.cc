// Security (README "Security") end to end, over plain TCP with bearer metadata: real jobsim and
// jobgw processes with a credentials file. Every test uses distinctive secrets (tokens, a
// sensitive script parameter, JOB's app secret) and, at its end, scans every line jobgw, jobsim
// and the audit log wrote.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <set>
#include <sstream>

#include "core/security/credentials.h"
#include "grpc_probes.grpc.pb.h"
#include "grpc_reflection_probe.grpc.pb.h"
#include "tests/integration/gateway_stack.h"
#include "tests/integration/stack_probes.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;

// Never in any log line, audit line or error message.
const std::string kOpsToken = "tok-ops-SECRET-5b0d9c1e";
const std::string kReaderToken = "tok-reader-SECRET-77aa3f02";
const std::string kAdminToken = "tok-admin-SECRET-c4e8b6d1";
const std::string kNewToken = "tok-rotated-SECRET-93fe0c55";
const std::string kSensitiveParam = "PARAM-SECRET-d41d8cd9";
const std::string kAppSecret = "APP-SECRET-0f9e8d7c";

std::string entry(const std::string& name, const std::string& token, const std::string& extra) {
  return R"({"name": ")" + name + R"(", "token_sha256": ")" + core::token_sha256_hex(token) +
         R"(", )" + extra + "}";
}

// ops: everything in biz:1 as svc-ops; reader: read biz:1; admin: everything in every biz, as
// any operator it names.
std::string credentials_json(bool with_reader = true, bool with_new = false) {
  std::string callers =
      entry("ops", kOpsToken,
            R"("scopes": ["biz:1"], "operations": ["execute", "transfer", "read", "terminate"],
               "operator": "svc-ops")") +
      "," +
      entry("admin", kAdminToken,
            R"("scopes": ["biz:*"], "operations": ["execute", "transfer", "read", "terminate"],
               "operator": "svc-admin", "operator_override": true)");
  if (with_reader) {
    callers +=
        "," + entry("reader", kReaderToken, R"("scopes": ["biz:1"], "operations": ["read"])");
  }
  if (with_new) {
    callers += "," + entry("rotated", kNewToken, R"("scopes": ["biz:1"], "operations": ["read"])");
  }
  return R"({"callers": [)" + callers + "]}";
}

StackOptions secured(std::vector<std::string> jobgw_args = {}) {
  StackOptions o = three_hosts({"--app-code", "jobgw-it", "--app-secret", kAppSecret});
  o.jobgw_args = {"--job.app_code=jobgw-it", "--job.app_secret=" + kAppSecret};
  o.jobgw_args.insert(o.jobgw_args.end(), jobgw_args.begin(), jobgw_args.end());
  o.credentials_json = credentials_json();
  return o;
}

v1::ExecuteScriptRequest sensitive_script(const std::string& script) {
  v1::ExecuteScriptRequest r = script_request(script, {101, 102});
  r.set_script_param(kSensitiveParam);
  r.set_param_sensitive(true);
  return r;
}

struct Submitted {
  grpc::Status status;
  v1::JobRef ref;
  std::string retry_after_ms;
};

Submitted execute(GatewayStack& stack, const std::string& token,
                  const v1::ExecuteScriptRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 30s);
  if (!token.empty()) bearer(context, token);
  Submitted out;
  out.status = stack.stub().ExecuteScript(&context, request, &out.ref);
  out.retry_after_ms = trailing(context, "retry-after-ms");
  return out;
}

grpc::Status job_status(GatewayStack& stack, const std::string& token, std::int64_t job,
                        v1::JobSnapshot* out = nullptr, const std::string& scope_id = "1") {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 30s);
  if (!token.empty()) bearer(context, token);
  v1::GetJobStatusRequest request;
  request.mutable_scope()->set_id(scope_id);
  request.set_job_instance_id(job);
  v1::JobSnapshot snapshot;
  return stack.stub().GetJobStatus(&context, request, out != nullptr ? out : &snapshot);
}

grpc::Status terminate(GatewayStack& stack, const std::string& token, std::int64_t job) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 30s);
  if (!token.empty()) bearer(context, token);
  v1::TerminateJobRequest request;
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(job);
  v1::TerminateJobResponse response;
  return stack.stub().TerminateJob(&context, request, &response);
}

// Waits (bounded) for the job to finish as seen by `token`'s caller.
bool wait_finished(GatewayStack& stack, const std::string& token, std::int64_t job) {
  return wait_until(
      [&] {
        v1::JobSnapshot s;
        return job_status(stack, token, job, &s).ok() && s.finished();
      },
      60s);
}

std::string script_log_of(GatewayStack& stack, const std::string& token, std::int64_t job) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 30s);
  bearer(context, token);
  v1::GetIpLogsRequest request;
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(job);
  v1::GetIpLogsResponse response;
  grpc::Status status = stack.stub().GetIpLogs(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::string all;
  for (const auto& log : response.script_logs()) all += log.content();
  return all;
}

std::vector<nlohmann::json> audit_lines(const GatewayStack& stack) {
  std::vector<nlohmann::json> out;
  std::istringstream lines(stack.audit_log());
  std::string line;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << line;
    if (!j.is_discarded()) out.push_back(j);
  }
  return out;
}

class Security : public ::testing::Test {
 protected:
  void start(StackOptions options = secured()) {
    stack_ = std::make_unique<GatewayStack>(std::move(options));
  }

  // The secret scan: every test of this suite ends with it.
  void TearDown() override {
    if (!stack_) return;
    const std::string logs = stack_->all_logs();
    // The scan sees jobgw's and jobsim's logs, not just an empty string.
    EXPECT_NE(logs.find("event=started"), std::string::npos);
    EXPECT_NE(logs.find("event=listening"), std::string::npos);
    for (const std::string& secret :
         {kOpsToken, kReaderToken, kAdminToken, kNewToken, kSensitiveParam, kAppSecret}) {
      EXPECT_EQ(logs.find(secret), std::string::npos) << "secret " << secret << " in the logs";
    }
  }

  GatewayStack& stack() { return *stack_; }
  std::unique_ptr<GatewayStack> stack_;
};

TEST_F(Security, EveryRpcNeedsATokenWhileHealthAndReflectionStayOpen) {
  start();
  auto& stub = stack().stub();
  auto expect_unauthenticated = [](const grpc::Status& s, const char* rpc) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << rpc << ": " << s.error_message();
    EXPECT_NE(s.error_message().find("Bearer"), std::string::npos) << rpc;
  };
  {
    grpc::ClientContext c;
    v1::JobRef r;
    expect_unauthenticated(stub.ExecuteScript(&c, sensitive_script("echo x"), &r), "Execute");
  }
  {
    grpc::ClientContext c;
    v1::TransferFileRequest req;
    req.mutable_scope()->set_id("1");
    auto* src = req.add_sources();
    src->add_files("/tmp/a");
    src->mutable_servers()->add_host_ids(101);
    req.set_target_path("/tmp/b");
    req.mutable_targets()->add_host_ids(102);
    v1::JobRef r;
    expect_unauthenticated(stub.TransferFile(&c, req, &r), "Transfer");
  }
  expect_unauthenticated(job_status(stack(), "", 1), "GetJobStatus");
  expect_unauthenticated(terminate(stack(), "", 1), "TerminateJob");
  {
    grpc::ClientContext c;
    v1::GetIpLogsRequest req;
    req.mutable_scope()->set_id("1");
    req.set_job_instance_id(1);
    v1::GetIpLogsResponse r;
    expect_unauthenticated(stub.GetIpLogs(&c, req, &r), "GetIpLogs");
  }
  {
    StreamWatcher w(stub, 1, 30s);
    ASSERT_TRUE(wait_until([&] { return w.ended(); }, 30s));
    expect_unauthenticated(w.status(), "WatchStatus");
  }
  // A wrong token is refused without being echoed.
  grpc::Status wrong = job_status(stack(), "tok-guessed", 1);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(wrong.error_message(), "unknown token");

  {
    auto health = grpc::health::v1::Health::NewStub(stack().channel());
    grpc::ClientContext c;
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    ASSERT_TRUE(health->Check(&c, req, &resp).ok());
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }
  {
    auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(stack().channel());
    grpc::ClientContext c;
    auto stream = reflection->ServerReflectionInfo(&c);
    grpc::reflection::v1alpha::ServerReflectionRequest req;
    req.set_list_services("");
    ASSERT_TRUE(stream->Write(req));
    stream->WritesDone();
    grpc::reflection::v1alpha::ServerReflectionResponse resp;
    ASSERT_TRUE(stream->Read(&resp));
    std::set<std::string> names;
    for (const auto& s : resp.list_services_response().service()) names.insert(s.name());
    EXPECT_TRUE(names.count("jobgw.v1.JobGateway")) << resp.DebugString();
    while (stream->Read(&resp)) {
    }
    EXPECT_TRUE(stream->Finish().ok());
  }
  const std::string metrics = jobgw_metrics(stack());
  EXPECT_EQ(metric_sample(metrics, R"(jobgw_auth_refusals_total{reason="missing_token"})"), 6.0)
      << metrics;
  EXPECT_EQ(metric_sample(metrics, R"(jobgw_auth_refusals_total{reason="bad_token"})"), 1.0);
  // Nothing reached JOB: no submit, and no job read (jobgw's reachability probe names no job).
  EXPECT_EQ(jobsim_requests(stack(), "fast_execute_script"), 0);
  const nlohmann::json reads = stack().jobsim_stats()["status_reads"];
  EXPECT_TRUE(reads.is_null() || reads.empty()) << reads.dump();
}

TEST_F(Security, GrantsAllowAndRefuseOverRealRpcs) {
  start();
  Submitted ok = execute(stack(), kOpsToken, sensitive_script("echo granted"));
  ASSERT_TRUE(ok.status.ok()) << ok.status.error_message() << stack().logs();
  const std::int64_t job = ok.ref.job_instance_id();

  Submitted no_op = execute(stack(), kReaderToken, sensitive_script("echo nope"));
  EXPECT_EQ(no_op.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(no_op.status.error_message(), "caller reader may not execute");

  v1::ExecuteScriptRequest other_scope = sensitive_script("echo elsewhere");
  other_scope.mutable_scope()->set_id("2");
  Submitted no_scope = execute(stack(), kOpsToken, other_scope);
  EXPECT_EQ(no_scope.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(no_scope.status.error_message(), "caller ops has no grant for scope biz:2");

  v1::ExecuteScriptRequest as_other = sensitive_script("echo impersonate");
  as_other.set_operator_("mallory");
  Submitted no_override = execute(stack(), kOpsToken, as_other);
  EXPECT_EQ(no_override.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(no_override.status.error_message(), "caller ops may not run as operator mallory");

  // A malformed scope is still the caller's mistake, named by field, once authenticated.
  v1::ExecuteScriptRequest bad_scope = sensitive_script("echo bad");
  bad_scope.mutable_scope()->set_type("planet");
  Submitted invalid = execute(stack(), kOpsToken, bad_scope);
  EXPECT_EQ(invalid.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(invalid.status.error_message().rfind("scope.type", 0), 0u)
      << invalid.status.error_message();

  // The reader reads biz:1, by status and by stream, but not biz:2, and may not terminate.
  EXPECT_TRUE(wait_finished(stack(), kReaderToken, job)) << stack().logs();
  grpc::Status other_read = job_status(stack(), kReaderToken, job, nullptr, "2");
  EXPECT_EQ(other_read.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  {
    StreamWatcher w(stack().stub(), job, 60s, kReaderToken);
    ASSERT_TRUE(wait_until([&] { return w.ended(); }, 60s));
    EXPECT_TRUE(w.status().ok()) << w.status().error_message();
    ASSERT_FALSE(w.events().empty());
    EXPECT_EQ(w.events().back().kind(), v1::EVENT_KIND_FINISHED);
  }
  grpc::Status no_terminate = terminate(stack(), kReaderToken, job);
  EXPECT_EQ(no_terminate.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(no_terminate.error_message(), "caller reader may not terminate");

  const std::string metrics = jobgw_metrics(stack());
  EXPECT_EQ(metric_sample(metrics, R"(jobgw_auth_refusals_total{reason="operation"})"), 2.0);
  EXPECT_EQ(metric_sample(metrics, R"(jobgw_auth_refusals_total{reason="scope"})"), 2.0);
  EXPECT_EQ(metric_sample(metrics, R"(jobgw_auth_refusals_total{reason="operator"})"), 1.0);
  // Refusals are logged with caller and reason.
  EXPECT_NE(stack().logs().find("rpc=ExecuteScript caller=reader"), std::string::npos);
  EXPECT_NE(stack().logs().find("reason=operation"), std::string::npos);
  // Only the granted submit reached JOB.
  EXPECT_EQ(jobsim_requests(stack(), "fast_execute_script"), 1);
}

TEST_F(Security, TheCallersOperatorOrAnAllowedOverrideRunsTheJob) {
  start();
  Submitted own = execute(stack(), kOpsToken, sensitive_script("echo op=$JOB_OPERATOR"));
  ASSERT_TRUE(own.status.ok()) << own.status.error_message();
  v1::ExecuteScriptRequest as_alice = sensitive_script("echo op=$JOB_OPERATOR");
  as_alice.set_operator_("alice");
  Submitted overridden = execute(stack(), kAdminToken, as_alice);
  ASSERT_TRUE(overridden.status.ok()) << overridden.status.error_message();

  ASSERT_TRUE(wait_finished(stack(), kOpsToken, own.ref.job_instance_id())) << stack().logs();
  ASSERT_TRUE(wait_finished(stack(), kAdminToken, overridden.ref.job_instance_id()));
  EXPECT_NE(script_log_of(stack(), kOpsToken, own.ref.job_instance_id()).find("op=svc-ops"),
            std::string::npos);
  EXPECT_NE(script_log_of(stack(), kAdminToken, overridden.ref.job_instance_id()).find("op=alice"),
            std::string::npos);
}

TEST_F(Security, ARewrittenFileIsReloadedAndABadOneKeepsTheOld) {
  start(secured({"--auth.reload_interval_ms=100"}));
  ASSERT_EQ(job_status(stack(), kNewToken, 424242).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  std::ofstream(stack().credentials_path(), std::ios::trunc)
      << credentials_json(/*with_reader=*/false, /*with_new=*/true);
  // Any answer but UNAUTHENTICATED: the job does not exist, so JOB's NOT_FOUND (or similar).
  ASSERT_TRUE(wait_until(
      [&] {
        return job_status(stack(), kNewToken, 424242).error_code() !=
               grpc::StatusCode::UNAUTHENTICATED;
      },
      30s))
      << stack().logs();
  EXPECT_EQ(job_status(stack(), kReaderToken, 424242).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  std::ofstream(stack().credentials_path(), std::ios::trunc) << R"({"callers": "oops"})";
  ASSERT_TRUE(wait_until(
      [&] {
        return metric_sample(jobgw_metrics(stack()),
                             R"(jobgw_credentials_reloads_total{outcome="failed"})")
                   .value_or(0) >= 1;
      },
      30s));
  EXPECT_NE(job_status(stack(), kNewToken, 424242).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(stack().logs().find("event=credentials_reload_failed"), std::string::npos);
  EXPECT_EQ(stack().jobgw().pid() > 0 && ::kill(stack().jobgw().pid(), 0) == 0, true);
}

TEST_F(Security, SighupReloadsWithoutPolling) {
  start(secured({"--auth.reload_interval_ms=0"}));
  std::ofstream(stack().credentials_path(), std::ios::trunc)
      << credentials_json(/*with_reader=*/true, /*with_new=*/true);
  ASSERT_EQ(job_status(stack(), kNewToken, 424242).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_EQ(::kill(stack().jobgw().pid(), SIGHUP), 0);
  ASSERT_TRUE(wait_until(
      [&] {
        return job_status(stack(), kNewToken, 424242).error_code() !=
               grpc::StatusCode::UNAUTHENTICATED;
      },
      30s))
      << stack().logs();
  EXPECT_NE(stack().logs().find("event=credentials_reloaded trigger=sighup"), std::string::npos);
}

TEST_F(Security, PerCallerSubmitRateAnswersResourceExhaustedWithARetryHint) {
  // One token per 100 s after a burst of 2: the third submit is refused however slow the host.
  start(secured({"--limits.caller_submits_per_second=0.01", "--limits.caller_submit_burst=2"}));
  for (int i = 0; i < 2; ++i) {
    Submitted s = execute(stack(), kOpsToken, sensitive_script("echo burst"));
    ASSERT_TRUE(s.status.ok()) << i << ": " << s.status.error_message();
  }
  Submitted over = execute(stack(), kOpsToken, sensitive_script("echo over"));
  EXPECT_EQ(over.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(over.status.error_message().find("limits.caller_submits_per_second"), std::string::npos)
      << over.status.error_message();
  EXPECT_NE(over.status.error_message().find("retry in"), std::string::npos);
  ASSERT_FALSE(over.retry_after_ms.empty());
  EXPECT_GT(std::stoll(over.retry_after_ms), 0);
  // Another caller has a bucket of its own.
  EXPECT_TRUE(execute(stack(), kAdminToken, sensitive_script("echo admin")).status.ok());
  EXPECT_EQ(metric_sample(jobgw_metrics(stack()),
                          R"(jobgw_caller_limit_rejections_total{limit="submit_rate"})"),
            1.0);
  EXPECT_EQ(jobsim_requests(stack(), "fast_execute_script"), 3);
}

TEST_F(Security, PerCallerStreamLimit) {
  start(secured({"--limits.caller_max_streams=2"}));
  Submitted long_job = execute(stack(), kOpsToken, sensitive_script("sleep 120"));
  ASSERT_TRUE(long_job.status.ok()) << long_job.status.error_message();
  const std::int64_t job = long_job.ref.job_instance_id();
  auto first = std::make_unique<StreamWatcher>(stack().stub(), job, 120s, kOpsToken);
  StreamWatcher second(stack().stub(), job, 120s, kOpsToken);
  // Both streams hold their slot once they have their first event.
  ASSERT_TRUE(
      wait_until([&] { return first->event_count() > 0 && second.event_count() > 0; }, 30s));
  {
    StreamWatcher third(stack().stub(), job, 120s, kOpsToken);
    ASSERT_TRUE(wait_until([&] { return third.ended(); }, 30s));
    EXPECT_EQ(third.status().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_NE(third.status().error_message().find("limits.caller_max_streams"), std::string::npos);
  }
  // Another caller is not affected.
  StreamWatcher reader(stack().stub(), job, 120s, kReaderToken);
  ASSERT_TRUE(wait_until([&] { return reader.event_count() > 0; }, 30s));
  EXPECT_FALSE(reader.ended());
  // Closing one frees its slot.
  first.reset();
  ASSERT_TRUE(wait_until(
      [&] {
        StreamWatcher again(stack().stub(), job, 120s, kOpsToken);
        wait_until([&] { return again.ended() || again.event_count() > 0; }, 30s);
        return !again.ended();
      },
      30s));
  EXPECT_TRUE(terminate(stack(), kOpsToken, job).ok());
}

TEST_F(Security, AuditLinesForAllowedAndRefusedSubmitsAndTerminate) {
  start();
  v1::ExecuteScriptRequest allowed = sensitive_script("sleep 60");
  allowed.set_request_id("audit-req-1");
  Submitted ok = execute(stack(), kOpsToken, allowed);
  ASSERT_TRUE(ok.status.ok()) << ok.status.error_message();
  ASSERT_FALSE(execute(stack(), kReaderToken, sensitive_script("echo no")).status.ok());
  ASSERT_FALSE(execute(stack(), "", sensitive_script("echo anon")).status.ok());
  ASSERT_TRUE(terminate(stack(), kOpsToken, ok.ref.job_instance_id()).ok());

  std::vector<nlohmann::json> lines;
  ASSERT_TRUE(wait_until(
      [&] {
        lines = audit_lines(stack());
        return lines.size() >= 4;
      },
      30s))
      << stack().audit_log();
  ASSERT_EQ(lines.size(), 4u) << stack().audit_log();
  for (const auto& line : lines) {
    for (const char* key :
         {"time", "caller", "operator", "scope", "rpc", "target_count", "script_sha256",
          "request_id", "job_instance_id", "outcome", "reason"}) {
      EXPECT_TRUE(line.contains(key)) << key << " missing in " << line.dump();
    }
  }
  const auto& a = lines[0];
  EXPECT_EQ(a["caller"], "ops");
  EXPECT_EQ(a["operator"], "svc-ops");
  EXPECT_EQ(a["scope"], "biz:1");
  EXPECT_EQ(a["rpc"], "ExecuteScript");
  EXPECT_EQ(a["target_count"], 2);
  EXPECT_EQ(a["script_sha256"], core::token_sha256_hex("sleep 60"));
  EXPECT_EQ(a["request_id"], "audit-req-1");
  EXPECT_EQ(a["job_instance_id"], ok.ref.job_instance_id());
  EXPECT_EQ(a["outcome"], "OK");

  EXPECT_EQ(lines[1]["caller"], "reader");
  EXPECT_EQ(lines[1]["outcome"], "PERMISSION_DENIED");
  EXPECT_EQ(lines[1]["reason"], "caller reader may not execute");
  EXPECT_EQ(lines[2]["caller"], "unauthenticated");
  EXPECT_EQ(lines[2]["outcome"], "UNAUTHENTICATED");

  EXPECT_EQ(lines[3]["rpc"], "TerminateJob");
  EXPECT_EQ(lines[3]["caller"], "ops");
  EXPECT_EQ(lines[3]["job_instance_id"], ok.ref.job_instance_id());
  EXPECT_EQ(lines[3]["outcome"], "OK");
  // Reads are not audited.
  EXPECT_EQ(stack().audit_log().find("GetJobStatus"), std::string::npos);
}

}  // namespace
}  // namespace jobgw::testing
