// In-process tests of JobGatewayService: a real grpc::Server on 127.0.0.1:0 serving the service
// over a real JobClient and WatchHub, with JOB played by a tiny HTTP server in this file.
#include "server/job_gateway_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/base/scheduler.h"
#include "core/metrics/metrics.h"
#include "core/watch/job_client_status_source.h"
#include "core/watch/watch_hub.h"
#include "server/server_metrics.h"
#include "tests/support/fake_http_server.h"

namespace jobgw::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;
namespace asio = boost::asio;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// A fake JOB: the suite's scriptable HTTP server, answering by JOB API name.
// ---------------------------------------------------------------------------------------------

struct JobCall {
  std::string api;  // e.g. "get_job_instance_status"
  std::string target;
  std::string body;
};

struct JobReply {
  int status = 200;
  std::string body;
  // Answer this much later (other connections are served meanwhile).
  std::chrono::milliseconds delay{0};
};

JobCall job_call(const jobgw::testing::RecordedRequest& request) {
  JobCall call;
  call.target = request.target;
  call.body = request.body;
  const std::string marker = "/api/v3/";
  auto at = call.target.find(marker);
  if (at != std::string::npos) {
    auto rest = call.target.substr(at + marker.size());
    call.api = rest.substr(0, rest.find_first_of("/?"));
  }
  return call;
}

class FakeJob {
 public:
  using Handler = std::function<JobReply(const JobCall&)>;

  explicit FakeJob(Handler handler)
      : server_([handler = std::move(handler)](const jobgw::testing::RecordedRequest& request) {
          JobReply reply = handler(job_call(request));
          jobgw::testing::FakeResponse response =
              jobgw::testing::FakeResponse::json(std::move(reply.body), reply.status);
          response.delay = reply.delay;
          return response;
        }) {}

  std::string url() const { return server_.base_url(); }

  std::vector<JobCall> calls() const {
    std::vector<JobCall> out;
    for (const auto& request : server_.requests()) out.push_back(job_call(request));
    return out;
  }
  int count(const std::string& api) const {
    int n = 0;
    for (const auto& c : calls()) n += c.api == api ? 1 : 0;
    return n;
  }
  std::vector<JobCall> calls_of(const std::string& api) const {
    std::vector<JobCall> out;
    for (auto& c : calls()) {
      if (c.api == api) out.push_back(c);
    }
    return out;
  }

 private:
  jobgw::testing::FakeHttpServer server_;
};

std::string ok_envelope(const json& data) {
  return json{{"result", true}, {"code", 0},           {"message", "success"},
              {"data", data},   {"request_id", "rq1"}, {"permission", nullptr}}
      .dump();
}

std::string job_failure(std::int64_t code, const std::string& message) {
  return json{{"result", false},
              {"code", code},
              {"message", message},
              {"data", nullptr},
              {"request_id", "rq-fail"}}
      .dump();
}

json host_json(std::int64_t id, const std::string& ip, int status) {
  return json{{"bk_host_id", id}, {"ip", ip},       {"bk_cloud_id", 0}, {"status", status},
              {"tag", ""},        {"exit_code", 0}, {"error_code", 0},  {"start_time", 1},
              {"end_time", 2},    {"total_time", 1}};
}

std::string status_body(std::int64_t job, int status, int host_status) {
  const bool finished = status == 3 || status == 4 || status == 8;
  json step = {{"step_instance_id", 75},
               {"type", 1},
               {"name", "step"},
               {"status", status},
               {"execute_count", 0},
               {"create_time", 1},
               {"start_time", 2},
               {"end_time", finished ? 3 : 0},
               {"total_time", 1},
               {"step_ip_result_list", json::array({host_json(101, "192.0.2.1", host_status),
                                                    host_json(102, "192.0.2.2", host_status)})}};
  json data = {{"finished", finished},
               {"job_instance",
                {{"job_instance_id", job},
                 {"bk_scope_type", "biz"},
                 {"bk_scope_id", "2"},
                 {"name", "job"},
                 {"status", status},
                 {"create_time", 1},
                 {"start_time", 2},
                 {"end_time", finished ? 3 : 0},
                 {"total_time", 1}}},
               {"step_instance_list", json::array({step})}};
  return ok_envelope(data);
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

std::multimap<std::string, std::string> trailers_of(const grpc::ClientContext& context) {
  std::multimap<std::string, std::string> out;
  for (const auto& [k, v] : context.GetServerTrailingMetadata()) {
    out.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Fixture: fake JOB + io pool + JobClient + WatchHub + service + gRPC server.
// ---------------------------------------------------------------------------------------------

class ServiceTest : public ::testing::Test {
 protected:
  // Job 100 runs until `finish_after_reads` status reads, then succeeds. Job 404 does not exist.
  JobReply handle(const JobCall& call) {
    std::function<JobReply(const JobCall&)> override_handler;
    {
      std::lock_guard<std::mutex> lock(handler_mu_);
      override_handler = override_;
    }
    if (override_handler) return override_handler(call);
    if (call.api == "fast_execute_script" || call.api == "fast_transfer_file") {
      return {200, ok_envelope({{"job_instance_id", 100},
                                {"job_instance_name", "submitted"},
                                {"step_instance_id", 75}})};
    }
    if (call.api == "get_job_instance_status") {
      if (call.target.find("job_instance_id=404") != std::string::npos) {
        return {200, job_failure(1244006, "job instance does not exist")};
      }
      const int reads = ++status_reads_;
      const bool done = finish_after_reads_ > 0 && reads >= finish_after_reads_;
      return {200, status_body(100, done ? 3 : 2, done ? 9 : 7)};
    }
    if (call.api == "batch_get_job_instance_ip_log") {
      json body = json::parse(call.body);
      json logs = json::array();
      for (const auto& id : body.value("host_id_list", json::array())) {
        logs.push_back({{"bk_host_id", id},
                        {"ip", ""},
                        {"bk_cloud_id", 0},
                        {"log_content", "log of " + std::to_string(id.get<long>())}});
      }
      return {200, ok_envelope({{"log_type", 1},
                                {"job_instance_id", body["job_instance_id"]},
                                {"step_instance_id", body["step_instance_id"]},
                                {"script_task_logs", logs}})};
    }
    if (call.api == "operate_job_instance") {
      return {200, ok_envelope({{"job_instance_id", 100}})};
    }
    return {404, "{}"};
  }

  void set_override(std::function<JobReply(const JobCall&)> handler) {
    std::lock_guard<std::mutex> lock(handler_mu_);
    override_ = std::move(handler);
  }

  void start(ServiceOptions options = {}) {
    guard_.emplace(io_.get_executor());
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });

    core::JobClientConfig config;
    config.api.app_code = "app";
    config.api.app_secret = "secret";
    config.http.base_url = fake_.url();
    config.http.max_attempts = 1;
    config.http.request_timeout = 3000ms;
    auto client = core::JobClient::create(io_, config);
    ASSERT_TRUE(client.ok()) << client.error().message;
    client_ = std::move(client.value());

    scheduler_ = std::make_unique<core::AsioScheduler>(io_);
    source_ = std::make_unique<core::JobClientStatusSource>(*client_);
    core::WatchHubConfig hub_config;
    hub_config.poll_floor = 20ms;
    hub_config.poll_ceiling = 60ms;
    hub_config.give_up_after = 10s;
    hub_config.reads_per_second = 1000;
    hub_config.read_burst = 100;
    hub_ = std::make_unique<core::WatchHub>(*scheduler_, *source_, hub_config);

    if (options.authorizer == nullptr) options.authorizer = insecure_.get();
    service_ = std::make_unique<JobGatewayService>(*client_, *hub_, &metrics_, options);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                       grpc::InsecureChannelCredentials());
    stub_ = v1::JobGateway::NewStub(channel);
  }

  void TearDown() override {
    if (hub_) {
      core::Error reason;
      reason.kind = core::ErrorKind::kCancelled;
      reason.message = "test teardown";
      hub_->shutdown(reason);
    }
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + 5s);
    if (client_) client_->shutdown();
    guard_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
    server_.reset();
    service_.reset();
    hub_.reset();
  }

  std::string metrics_text() const { return metrics_.serialize(); }
  bool metric_has(const std::string& method, const std::string& code) const {
    const std::string text = metrics_text();
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("jobgw_rpc_requests_total", 0) == 0 &&
          line.find("method=\"" + method + "\"") != std::string::npos &&
          line.find("code=\"" + code + "\"") != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  static v1::Scope scope() {
    v1::Scope s;
    s.set_id("2");
    return s;
  }

  std::atomic<int> status_reads_{0};
  std::atomic<int> finish_after_reads_{0};
  std::mutex handler_mu_;
  std::function<JobReply(const JobCall&)> override_;
  FakeJob fake_{[this](const JobCall& call) { return handle(call); }};

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::vector<std::thread> threads_;
  core::Metrics core_metrics_;
  ServerMetrics metrics_{core_metrics_};
  std::unique_ptr<core::JobClient> client_;
  std::unique_ptr<core::AsioScheduler> scheduler_;
  std::unique_ptr<core::JobClientStatusSource> source_;
  std::unique_ptr<core::WatchHub> hub_;
  std::unique_ptr<Authorizer> insecure_ = Authorizer::insecure_dev();
  std::unique_ptr<JobGatewayService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::JobGateway::Stub> stub_;
};

v1::ExecuteScriptRequest script_request() {
  v1::ExecuteScriptRequest r;
  r.mutable_scope()->set_id("2");
  r.set_script_content("echo hi");
  r.set_script_language(v1::SCRIPT_LANGUAGE_SHELL);
  r.mutable_targets()->add_host_ids(101);
  return r;
}

// ----- submits ------------------------------------------------------------------------------

TEST_F(ServiceTest, ExecuteScriptSubmitsWithCallbackAndStartsWatching) {
  ServiceOptions options;
  options.callback_url = "http://jobgw.example/callback";
  start(options);
  grpc::ClientContext context;
  v1::JobRef ref;
  grpc::Status status = stub_->ExecuteScript(&context, script_request(), &ref);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(ref.job_instance_id(), 100);
  EXPECT_EQ(ref.step_instance_id(), 75);
  EXPECT_EQ(ref.job_instance_name(), "submitted");

  auto submits = fake_.calls_of("fast_execute_script");
  ASSERT_EQ(submits.size(), 1u);
  json body = json::parse(submits[0].body);
  EXPECT_EQ(body["callback_url"], "http://jobgw.example/callback");
  EXPECT_EQ(body["script_content"], "ZWNobyBoaQ==");  // Base64("echo hi")
  // hub.watch(): the job is polled although nobody watches it.
  EXPECT_TRUE(eventually([&] { return fake_.count("get_job_instance_status") >= 1; }));
  EXPECT_TRUE(metric_has("ExecuteScript", "OK"));
}

TEST_F(ServiceTest, ExecuteScriptWithoutCallbackUrlSendsNone) {
  start();
  grpc::ClientContext context;
  v1::JobRef ref;
  ASSERT_TRUE(stub_->ExecuteScript(&context, script_request(), &ref).ok());
  json body = json::parse(fake_.calls_of("fast_execute_script").at(0).body);
  EXPECT_FALSE(body.contains("callback_url") && !body["callback_url"].get<std::string>().empty());
}

TEST_F(ServiceTest, InvalidSubmitNeverReachesJob) {
  start();
  auto request = script_request();
  request.mutable_targets()->add_hosts()->set_ip("300.1.1.1");
  grpc::ClientContext context;
  v1::JobRef ref;
  grpc::Status status = stub_->ExecuteScript(&context, request, &ref);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("targets.hosts[0].ip: '300.1.1.1'"));
  EXPECT_EQ(fake_.count("fast_execute_script"), 0);
  EXPECT_TRUE(metric_has("ExecuteScript", "INVALID_ARGUMENT"));
}

TEST_F(ServiceTest, ScriptSizeLimitComesFromOptions) {
  ServiceOptions options;
  options.validation.max_script_bytes = 4;
  start(options);
  grpc::ClientContext context;
  v1::JobRef ref;
  grpc::Status status = stub_->ExecuteScript(&context, script_request(), &ref);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("script_content:"));
}

TEST_F(ServiceTest, TransferFileSubmits) {
  ServiceOptions options;
  options.callback_url = "http://cb/";
  start(options);
  v1::TransferFileRequest request;
  request.mutable_scope()->set_id("2");
  auto* source = request.add_sources();
  source->add_files("/data/a.log");
  source->mutable_servers()->add_host_ids(201);
  request.set_target_path("/tmp/");
  request.mutable_targets()->add_host_ids(101);
  grpc::ClientContext context;
  v1::JobRef ref;
  grpc::Status status = stub_->TransferFile(&context, request, &ref);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(ref.job_instance_id(), 100);
  json body = json::parse(fake_.calls_of("fast_transfer_file").at(0).body);
  EXPECT_EQ(body["file_target_path"], "/tmp/");
  EXPECT_EQ(body["callback_url"], "http://cb/");
  EXPECT_TRUE(metric_has("TransferFile", "OK"));
}

TEST_F(ServiceTest, SubmitQuotaErrorIsResourceExhaustedWithTrailers) {
  start();
  set_override([](const JobCall&) { return JobReply{200, job_failure(1244033, "quota")}; });
  grpc::ClientContext context;
  v1::JobRef ref;
  grpc::Status status = stub_->ExecuteScript(&context, script_request(), &ref);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), StartsWith("JOB: quota"));
  auto trailers = trailers_of(context);
  EXPECT_EQ(trailers.count("jobgw-job-code"), 1u);
  EXPECT_EQ(trailers.find("jobgw-job-code")->second, "1244033");
  EXPECT_EQ(trailers.find("jobgw-job-request-id")->second, "rq-fail");
}

TEST_F(ServiceTest, GatewayUnauthorizedIsInternal) {
  start();
  set_override([](const JobCall&) { return JobReply{401, "<html>denied</html>"}; });
  grpc::ClientContext context;
  v1::JobRef ref;
  grpc::Status status = stub_->ExecuteScript(&context, script_request(), &ref);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(status.error_message(), HasSubstr("app credentials"));
  EXPECT_EQ(trailers_of(context).find("jobgw-http-status")->second, "401");
}

// ----- GetJobStatus -------------------------------------------------------------------------

TEST_F(ServiceTest, GetJobStatusReadsJob) {
  start();
  v1::GetJobStatusRequest request;
  *request.mutable_scope() = scope();
  request.set_job_instance_id(100);
  grpc::ClientContext context;
  v1::JobSnapshot snapshot;
  grpc::Status status = stub_->GetJobStatus(&context, request, &snapshot);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(snapshot.job_instance_id(), 100);
  EXPECT_EQ(snapshot.status(), v1::JOB_STATUS_RUNNING);
  ASSERT_EQ(snapshot.steps_size(), 1);
  EXPECT_EQ(snapshot.steps(0).hosts_size(), 2);
  EXPECT_EQ(snapshot.steps(0).hosts(0).status(), v1::HOST_STATUS_RUNNING);
  auto reads = fake_.calls_of("get_job_instance_status");
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_THAT(reads[0].target, HasSubstr("return_ip_result=true"));
}

TEST_F(ServiceTest, GetJobStatusUnknownJobIsNotFoundWithTrailers) {
  start();
  v1::GetJobStatusRequest request;
  *request.mutable_scope() = scope();
  request.set_job_instance_id(404);
  grpc::ClientContext context;
  v1::JobSnapshot snapshot;
  grpc::Status status = stub_->GetJobStatus(&context, request, &snapshot);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("1244006"));
  auto trailers = trailers_of(context);
  EXPECT_EQ(trailers.find("jobgw-job-code")->second, "1244006");
  EXPECT_EQ(trailers.find("jobgw-http-status")->second, "200");
  EXPECT_TRUE(metric_has("GetJobStatus", "NOT_FOUND"));
}

TEST_F(ServiceTest, GetJobStatusServedFromHubForFinishedJob) {
  finish_after_reads_ = 1;
  ServiceOptions options;
  options.status_fresh_for = 60s;
  start(options);
  // Let the hub learn the job and see it finish.
  {
    grpc::ClientContext context;
    v1::WatchStatusRequest request;
    *request.mutable_scope() = scope();
    request.set_job_instance_id(100);
    auto reader = stub_->WatchStatus(&context, request);
    v1::StatusEvent event;
    while (reader->Read(&event)) {
    }
    ASSERT_TRUE(reader->Finish().ok());
  }
  const int reads = fake_.count("get_job_instance_status");
  v1::GetJobStatusRequest request;
  *request.mutable_scope() = scope();
  request.set_job_instance_id(100);
  grpc::ClientContext context;
  v1::JobSnapshot snapshot;
  ASSERT_TRUE(stub_->GetJobStatus(&context, request, &snapshot).ok());
  EXPECT_EQ(snapshot.status(), v1::JOB_STATUS_SUCCESS);
  EXPECT_TRUE(snapshot.finished());
  EXPECT_EQ(fake_.count("get_job_instance_status"), reads);
}

TEST_F(ServiceTest, JobCallTimeoutCapsTheCall) {
  ServiceOptions options;
  options.job_call_timeout = 200ms;
  start(options);
  set_override([](const JobCall& call) { return JobReply{200, status_body(100, 2, 7), 1500ms}; });
  v1::GetJobStatusRequest request;
  *request.mutable_scope() = scope();
  request.set_job_instance_id(100);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 5s);
  v1::JobSnapshot snapshot;
  const auto begin = std::chrono::steady_clock::now();
  grpc::Status status = stub_->GetJobStatus(&context, request, &snapshot);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server's own answer (the caller allowed 5 s), naming JOB.
  EXPECT_THAT(status.error_message(), StartsWith("JOB: "));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 1400ms);
}

// ----- TerminateJob -------------------------------------------------------------------------

TEST_F(ServiceTest, TerminateJobSendsOperationOne) {
  start();
  v1::TerminateJobRequest request;
  *request.mutable_scope() = scope();
  request.set_job_instance_id(100);
  grpc::ClientContext context;
  v1::TerminateJobResponse response;
  grpc::Status status = stub_->TerminateJob(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.job_instance_id(), 100);
  json body = json::parse(fake_.calls_of("operate_job_instance").at(0).body);
  EXPECT_EQ(body["operation_code"], 1);
  EXPECT_EQ(body["job_instance_id"], 100);
  EXPECT_TRUE(metric_has("TerminateJob", "OK"));
}

TEST_F(ServiceTest, TerminateTerminatingJobIsFailedPrecondition) {
  start();
  set_override([](const JobCall&) { return JobReply{200, job_failure(1244015, "terminating")}; });
  v1::TerminateJobRequest request;
  *request.mutable_scope() = scope();
  request.set_job_instance_id(100);
  grpc::ClientContext context;
  v1::TerminateJobResponse response;
  EXPECT_EQ(stub_->TerminateJob(&context, request, &response).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// ----- GetIpLogs ----------------------------------------------------------------------------

TEST_F(ServiceTest, GetIpLogsWithoutHostsAsksForEveryHostOfTheFirstStep) {
  start();
  v1::GetIpLogsRequest request;
  *request.mutable_scope() = scope();
  request.set_job_instance_id(100);
  grpc::ClientContext context;
  v1::GetIpLogsResponse response;
  grpc::Status status = stub_->GetIpLogs(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.log_type(), v1::LOG_TYPE_SCRIPT);
  ASSERT_EQ(response.script_logs_size(), 2);
  EXPECT_EQ(response.script_logs(0).content(), "log of 101");
  EXPECT_EQ(response.script_logs(1).host().host_id(), 102);
  json body = json::parse(fake_.calls_of("batch_get_job_instance_ip_log").at(0).body);
  EXPECT_EQ(body["step_instance_id"], 75);
  EXPECT_EQ(body["host_id_list"], json::array({101, 102}));
}

TEST_F(ServiceTest, GetIpLogsUnknownStepIsNotFound) {
  start();
  v1::GetIpLogsRequest request;
  *request.mutable_scope() = scope();
  request.set_job_instance_id(100);
  request.set_step_instance_id(999);
  grpc::ClientContext context;
  v1::GetIpLogsResponse response;
  grpc::Status status = stub_->GetIpLogs(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("step 999"));
  EXPECT_EQ(fake_.count("batch_get_job_instance_ip_log"), 0);
}

TEST_F(ServiceTest, GetIpLogsWithStepAndHostsSkipsTheStatusRead) {
  start();
  v1::GetIpLogsRequest request;
  *request.mutable_scope() = scope();
  request.set_job_instance_id(100);
  request.set_step_instance_id(75);
  request.add_host_ids(102);
  grpc::ClientContext context;
  v1::GetIpLogsResponse response;
  ASSERT_TRUE(stub_->GetIpLogs(&context, request, &response).ok());
  ASSERT_EQ(response.script_logs_size(), 1);
  EXPECT_EQ(response.script_logs(0).content(), "log of 102");
  EXPECT_EQ(fake_.count("get_job_instance_status"), 0);
}

TEST_F(ServiceTest, GetIpLogsOfAHostTheStepDoesNotHaveIsNotFoundAfterOneStatusRead) {
  start();
  // JOB answers no log for a host its step does not have.
  set_override([](const JobCall& call) {
    if (call.api == "get_job_instance_status") return JobReply{200, status_body(100, 2, 7)};
    json logs = json::array();
    for (const auto& id : json::parse(call.body).value("host_id_list", json::array())) {
      if (id == 999) continue;
      logs.push_back({{"bk_host_id", id}, {"ip", ""}, {"bk_cloud_id", 0}, {"log_content", "x"}});
    }
    return JobReply{200, ok_envelope({{"log_type", 1}, {"script_task_logs", logs}})};
  });
  v1::GetIpLogsRequest request;
  *request.mutable_scope() = scope();
  request.set_job_instance_id(100);
  request.set_step_instance_id(75);
  request.add_host_ids(102);
  request.add_host_ids(999);
  grpc::ClientContext context;
  v1::GetIpLogsResponse response;
  grpc::Status status = stub_->GetIpLogs(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "host_ids: 999 is not a host of step 75 of job 100");
  EXPECT_EQ(fake_.count("get_job_instance_status"), 1);
}

TEST_F(ServiceTest, GetIpLogsPagesAskJobForTheirHostsOnly) {
  ServiceOptions options;
  options.log_page_hosts = 1;
  start(options);
  v1::GetIpLogsRequest request;
  *request.mutable_scope() = scope();
  request.set_job_instance_id(100);
  std::vector<std::string> contents;
  for (int page = 0; page < 2; ++page) {
    grpc::ClientContext context;
    v1::GetIpLogsResponse response;
    grpc::Status status = stub_->GetIpLogs(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.script_logs_size(), 1);
    contents.push_back(response.script_logs(0).content());
    EXPECT_EQ(response.next_page_token().empty(), page == 1);
    request.set_page_token(response.next_page_token());
  }
  EXPECT_EQ(contents, (std::vector<std::string>{"log of 101", "log of 102"}));
  auto calls = fake_.calls_of("batch_get_job_instance_ip_log");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(json::parse(calls[0].body)["host_id_list"], json::array({101}));
  EXPECT_EQ(json::parse(calls[1].body)["host_id_list"], json::array({102}));
}

TEST_F(ServiceTest, GetIpLogsBadPagingFieldsAreInvalidArgumentBeforeJob) {
  start();
  struct Case {
    std::string token;
    std::int64_t max_bytes;
    const char* field;
  };
  for (const Case& c : {Case{"garbage", 0, "page_token"}, Case{"", -1, "max_response_bytes"},
                        Case{"", 4095, "max_response_bytes"}}) {
    SCOPED_TRACE(c.field);
    v1::GetIpLogsRequest request;
    *request.mutable_scope() = scope();
    request.set_job_instance_id(100);
    request.set_step_instance_id(75);
    request.add_host_ids(101);
    request.set_page_token(c.token);
    request.set_max_response_bytes(c.max_bytes);
    grpc::ClientContext context;
    v1::GetIpLogsResponse response;
    grpc::Status status = stub_->GetIpLogs(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), StartsWith(c.field));
  }
  EXPECT_EQ(fake_.count("batch_get_job_instance_ip_log"), 0);
  EXPECT_EQ(fake_.count("get_job_instance_status"), 0);
}

// ----- WatchStatus --------------------------------------------------------------------------

TEST_F(ServiceTest, WatchStatusStreamsSnapshotChangesFinishedThenOk) {
  finish_after_reads_ = 3;
  start();
  grpc::ClientContext context;
  v1::WatchStatusRequest request;
  *request.mutable_scope() = scope();
  request.set_job_instance_id(100);
  auto reader = stub_->WatchStatus(&context, request);
  std::vector<v1::StatusEvent> events;
  v1::StatusEvent event;
  while (reader->Read(&event)) events.push_back(event);
  grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.front().kind(), v1::EVENT_KIND_SNAPSHOT);
  EXPECT_EQ(events.front().snapshot().status(), v1::JOB_STATUS_RUNNING);
  EXPECT_EQ(events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(events.back().snapshot().status(), v1::JOB_STATUS_SUCCESS);
  bool saw_job_change = false;
  for (std::size_t i = 1; i < events.size(); ++i) {
    EXPECT_GT(events[i].seq(), events[i - 1].seq());
    if (events[i].kind() == v1::EVENT_KIND_JOB_CHANGED) {
      saw_job_change = true;
      EXPECT_EQ(events[i].job().new_status(), v1::JOB_STATUS_SUCCESS);
    }
  }
  EXPECT_TRUE(saw_job_change);
  EXPECT_TRUE(metric_has("WatchStatus", "OK"));

  // Resuming after the last change replays just FINISHED, flagged resumed.
  grpc::ClientContext again;
  request.set_after_seq(events[events.size() - 2].seq());
  auto resumed = stub_->WatchStatus(&again, request);
  std::vector<v1::StatusEvent> replay;
  while (resumed->Read(&event)) replay.push_back(event);
  ASSERT_TRUE(resumed->Finish().ok());
  ASSERT_FALSE(replay.empty());
  EXPECT_EQ(replay.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_TRUE(replay.back().resumed());
}

TEST_F(ServiceTest, WatchStatusInvalidRequest) {
  start();
  grpc::ClientContext context;
  v1::WatchStatusRequest request;
  request.set_job_instance_id(100);
  auto reader = stub_->WatchStatus(&context, request);
  v1::StatusEvent event;
  EXPECT_FALSE(reader->Read(&event));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("scope.id"));
}

TEST_F(ServiceTest, WatchStatusUnknownJobEndsNotFound) {
  start();
  grpc::ClientContext context;
  v1::WatchStatusRequest request;
  *request.mutable_scope() = scope();
  request.set_job_instance_id(404);
  auto reader = stub_->WatchStatus(&context, request);
  v1::StatusEvent event;
  while (reader->Read(&event)) {
  }
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(trailers_of(context).find("jobgw-job-code")->second, "1244006");
}

TEST_F(ServiceTest, WatchStatusHubShutdownIsUnavailable) {
  start();
  grpc::ClientContext context;
  v1::WatchStatusRequest request;
  *request.mutable_scope() = scope();
  request.set_job_instance_id(100);
  auto reader = stub_->WatchStatus(&context, request);
  v1::StatusEvent event;
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.kind(), v1::EVENT_KIND_SNAPSHOT);
  core::Error reason;
  reason.kind = core::ErrorKind::kCancelled;
  reason.message = "jobgw is shutting down";
  hub_->shutdown(reason);
  while (reader->Read(&event)) {
  }
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "jobgw is shutting down; reconnect with after_seq");
}

TEST_F(ServiceTest, WatchStatusClientCancelFinishesOnceEachTime) {
  start();  // the job never finishes
  for (int i = 0; i < 25; ++i) {
    grpc::ClientContext context;
    // A stream that joined a watch its predecessor's cancel was stopping never got an event
    // (fixed in the hub): fail on that, not on ctest's timeout.
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::WatchStatusRequest request;
    *request.mutable_scope() = scope();
    request.set_job_instance_id(100);
    auto reader = stub_->WatchStatus(&context, request);
    v1::StatusEvent event;
    // Cancel at varying points: before the first event, right after it, or a bit later.
    if (i % 3 != 0) {
      ASSERT_TRUE(reader->Read(&event)) << "stream " << i << " got no first event";
    }
    if (i % 3 == 2) std::this_thread::sleep_for(std::chrono::milliseconds(i));
    context.TryCancel();
    while (reader->Read(&event)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // Every stream's end was recorded server-side and the hub let every subscriber go.
  EXPECT_TRUE(eventually([&] { return hub_->stats().subscribers == 0; }));
  EXPECT_TRUE(eventually([&] { return metric_has("WatchStatus", "CANCELLED"); }));
}

TEST_F(ServiceTest, ManyConcurrentWatchersShareOnePoller) {
  finish_after_reads_ = 5;
  start();
  constexpr int kWatchers = 8;
  std::vector<std::thread> watchers;
  std::atomic<int> ok{0};
  for (int i = 0; i < kWatchers; ++i) {
    watchers.emplace_back([&] {
      grpc::ClientContext context;
      v1::WatchStatusRequest request;
      *request.mutable_scope() = scope();
      request.set_job_instance_id(100);
      auto reader = stub_->WatchStatus(&context, request);
      v1::StatusEvent event;
      v1::StatusEvent last;
      while (reader->Read(&event)) last = event;
      if (reader->Finish().ok() && last.kind() == v1::EVENT_KIND_FINISHED) ++ok;
    });
  }
  for (auto& t : watchers) t.join();
  EXPECT_EQ(ok.load(), kWatchers);
  // One poller: reads track the job's progress, not the number of watchers.
  EXPECT_LT(fake_.count("get_job_instance_status"), 5 + kWatchers);
}

// ----- pure helpers -------------------------------------------------------------------------

TEST(JobDeadline, NoCallerDeadlineUsesCap) {
  const auto sys = std::chrono::system_clock::now();
  const auto steady = std::chrono::steady_clock::now();
  auto d = job_deadline(std::chrono::system_clock::time_point::max(), 15000ms, sys, steady);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, steady + 15000ms);
}

TEST(JobDeadline, EarlierOfCallerAndCap) {
  const auto sys = std::chrono::system_clock::now();
  const auto steady = std::chrono::steady_clock::now();
  EXPECT_EQ(*job_deadline(sys + 2s, 15000ms, sys, steady), steady + 2s);
  EXPECT_EQ(*job_deadline(sys + 60s, 15000ms, sys, steady), steady + 15000ms);
  EXPECT_EQ(*job_deadline(sys - 1s, 15000ms, sys, steady), steady);
  EXPECT_EQ(*job_deadline(sys, 15000ms, sys, steady), steady);
}

core::JobSnapshot two_step_job() {
  core::JobSnapshot job;
  job.job_instance_id = 100;
  core::StepSnapshot a;
  a.step_instance_id = 75;
  a.type = core::kStepScript;
  core::HostResult h1;
  h1.host.host_id = 101;
  h1.host.ip = "192.0.2.1";
  core::HostResult h2;
  h2.host.host_id = 102;
  a.hosts = {h1, h2};
  core::StepSnapshot b;
  b.step_instance_id = 76;
  b.type = core::kStepFile;
  core::HostResult h3;
  h3.host.cloud_id = 3;
  h3.host.ip = "192.0.2.3";
  core::HostResult h4;
  h4.host.host_id = 104;
  h4.host.ip = "192.0.2.4";
  b.hosts = {h3, h4};
  job.steps = {a, b};
  return job;
}

TEST(CompleteIpLogs, StepZeroIsFirstStepAndHostsById) {
  IpLogsPlan plan;
  plan.request.job_instance_id = 100;
  EXPECT_FALSE(complete_ip_logs_request(two_step_job(), &plan).has_value());
  EXPECT_EQ(plan.request.step_instance_id, 75);
  EXPECT_EQ(plan.step_type, core::kStepScript);
  EXPECT_EQ(plan.request.host_ids, (std::vector<std::int64_t>{101, 102}));
  EXPECT_TRUE(plan.request.hosts.empty());
}

TEST(CompleteIpLogs, HostsWithoutIdsGoByIp) {
  IpLogsPlan plan;
  plan.request.job_instance_id = 100;
  plan.request.step_instance_id = 76;
  EXPECT_FALSE(complete_ip_logs_request(two_step_job(), &plan).has_value());
  EXPECT_EQ(plan.step_type, core::kStepFile);
  EXPECT_TRUE(plan.request.host_ids.empty());
  ASSERT_EQ(plan.request.hosts.size(), 2u);
  EXPECT_EQ(plan.request.hosts[0].ip, "192.0.2.3");
  EXPECT_EQ(plan.request.hosts[0].cloud_id, 3);
  EXPECT_EQ(plan.request.hosts[1].ip, "192.0.2.4");
}

TEST(CompleteIpLogs, NamedHostsKept) {
  IpLogsPlan plan;
  plan.request.job_instance_id = 100;
  plan.request.host_ids = {102};
  EXPECT_FALSE(complete_ip_logs_request(two_step_job(), &plan).has_value());
  EXPECT_EQ(plan.request.step_instance_id, 75);
  EXPECT_EQ(plan.request.host_ids, std::vector<std::int64_t>{102});
}

TEST(CompleteIpLogs, UnknownStepOrNoSteps) {
  IpLogsPlan plan;
  plan.request.job_instance_id = 100;
  plan.request.step_instance_id = 5;
  auto failed = complete_ip_logs_request(two_step_job(), &plan);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->code, StatusCode::kNotFound);
  EXPECT_THAT(failed->message, StartsWith("step_instance_id: step 5"));
  IpLogsPlan first;
  first.request.job_instance_id = 100;
  auto none = complete_ip_logs_request(core::JobSnapshot{}, &first);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->code, StatusCode::kNotFound);
}

NamedHosts ids(std::vector<std::int64_t> host_ids) {
  NamedHosts named;
  named.host_ids = std::move(host_ids);
  return named;
}

TEST(IpLogHosts, HostsTheStepDoesNotHaveAreNamedByField) {
  const core::JobSnapshot job = two_step_job();
  NamedHosts unknown = not_in_step(ids({102, 999}), job.steps[0]);
  EXPECT_EQ(unknown.host_ids, std::vector<std::int64_t>{999});
  EXPECT_EQ(not_hosts_message(unknown, 75, 100),
            "host_ids: 999 is not a host of step 75 of job 100");

  NamedHosts two = ids({998, 999});
  core::Host by_address;
  by_address.ip = "192.0.2.9";
  two.hosts = {by_address};
  // Step 75's host 102 has no IP: an address might be its, so only the ids are certain.
  unknown = not_in_step(two, job.steps[0]);
  EXPECT_EQ(unknown.host_ids, (std::vector<std::int64_t>{998, 999}));
  EXPECT_TRUE(unknown.hosts.empty());
  unknown.hosts = {by_address};
  EXPECT_EQ(not_hosts_message(unknown, 75, 100),
            "host_ids: 998, 999 are not hosts of step 75 of job 100; hosts: 0:192.0.2.9 is not "
            "a host of step 75 of job 100");
}

TEST(IpLogHosts, UnknownOnlyWhenTheStepCanTell) {
  const core::JobSnapshot job = two_step_job();
  // Step 76 has a host without an id: a named id may be that host's.
  EXPECT_TRUE(not_in_step(ids({999}), job.steps[1]).empty());
  // Every host of step 76 has an IP: a cloud id + IP pair it lacks is unknown.
  NamedHosts by_address;
  core::Host known;
  known.cloud_id = 3;
  known.ip = "192.0.2.3";
  core::Host other_cloud = known;
  other_cloud.cloud_id = 0;
  by_address.hosts = {known, other_cloud};
  NamedHosts unknown = not_in_step(by_address, job.steps[1]);
  ASSERT_EQ(unknown.hosts.size(), 1u);
  EXPECT_EQ(unknown.hosts[0].cloud_id, 0);
  // A step without hosts yet cannot tell.
  core::StepSnapshot empty = job.steps[0];
  empty.hosts.clear();
  EXPECT_TRUE(not_in_step(ids({999}), empty).empty());
}

TEST(IpLogHosts, WithoutLogsNamesTheAskedHostsJobAnsweredNothingFor) {
  core::Host by_id;
  by_id.host_id = 201;
  core::Host foreign;
  foreign.host_id = 999;
  core::Host by_address;
  by_address.ip = "192.0.2.9";
  core::IpLogs answer;
  core::FileHostLog upload;  // a file step's source host: its upload log
  upload.host = by_id;
  answer.file_logs = {upload};
  NamedHosts missing = without_logs({by_id, foreign, by_address}, answer);
  EXPECT_EQ(missing.host_ids, std::vector<std::int64_t>{999});
  ASSERT_EQ(missing.hosts.size(), 1u);
  EXPECT_EQ(missing.hosts[0].ip, "192.0.2.9");
  core::ScriptLog log;
  log.host = by_address;
  answer.script_logs = {log};
  EXPECT_TRUE(without_logs({by_id, by_address}, answer).empty());
}

}  // namespace
}  // namespace jobgw::server
