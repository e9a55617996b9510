#include "core/job/job_client.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/core/job_client_test_support.h"
#include "tests/support/fake_http_server.h"

namespace jobgw::core {
namespace {

using jobgw::testing::FakeHttpServer;
using jobgw::testing::FakeResponse;
using jobgw::testing::FakeServerOptions;
using jobgw::testing::RecordedRequest;
using nlohmann::json;
using testing::config_for;
using testing::IoThread;
using testing::Waiter;

const char* kStatusOk = R"({"result":true,"code":0,"message":"success","request_id":"r1","data":{
  "finished":false,"job_instance":{"job_instance_id":100,"status":2,"bk_scope_type":"biz","bk_scope_id":"1"},
  "step_instance_list":[{"step_instance_id":75,"status":2,"step_ip_result_list":[
    {"bk_host_id":101,"ip":"192.0.2.1","bk_cloud_id":0,"status":7}]}]}})";

const char* kSubmitOk =
    R"({"result":true,"code":0,"request_id":"r2","data":{"job_instance_id":100,"job_instance_name":"x","step_instance_id":75}})";

JobStatusRequest status_request() {
  JobStatusRequest r;
  r.scope = {"biz", "1"};
  r.job_instance_id = 100;
  return r;
}

ExecuteScriptRequest script_request() {
  ExecuteScriptRequest r;
  r.scope = {"biz", "1"};
  r.script_content = "echo hi";
  r.script_language = kShell;
  r.targets.host_ids = {101};
  r.operator_name = "alice";
  return r;
}

TEST(JobClient, StatusReadDecodesAndSendsTheAuthHeader) {
  FakeHttpServer server([](const RecordedRequest&) { return FakeResponse::json(kStatusOk); });
  IoThread io;
  auto client = JobClient::create(io.io(), config_for(server));
  ASSERT_TRUE(client.ok()) << client.error().message;
  Waiter<JobSnapshot> w;
  (*client)->get_job_instance_status(status_request(), w.callback());
  Result<JobSnapshot> r = w.get();
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->status, 2);
  ASSERT_EQ(r->steps.size(), 1u);
  EXPECT_EQ(r->steps[0].hosts[0].status, 7);
  ASSERT_EQ(server.requests().size(), 1u);
  const RecordedRequest req = server.requests()[0];
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target.rfind("/api/v3/get_job_instance_status/?", 0), 0u) << req.target;
  json auth = json::parse(req.header("X-Bkapi-Authorization").value_or("{}"));
  EXPECT_EQ(auth["bk_app_code"], "bk_log");
  EXPECT_EQ(auth["bk_app_secret"], "s3cret");
  EXPECT_EQ(auth["bk_username"], "admin");
}

TEST(JobClient, EsbModeCarriesCredentialsInTheBody) {
  FakeHttpServer server([](const RecordedRequest&) { return FakeResponse::json(kSubmitOk); });
  IoThread io;
  auto client = JobClient::create(io.io(), config_for(server, ApiMode::kEsb));
  ASSERT_TRUE(client.ok());
  Waiter<JobRef> w;
  (*client)->execute_script(script_request(), w.callback());
  Result<JobRef> r = w.get();
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->job_instance_id, 100);
  const RecordedRequest req = server.requests().at(0);
  EXPECT_EQ(req.target, "/api/c/compapi/v2/jobv3/fast_execute_script/");
  EXPECT_FALSE(req.header("X-Bkapi-Authorization").has_value());
  json body = json::parse(req.body);
  EXPECT_EQ(body["bk_username"], "alice");
  EXPECT_EQ(body["bk_app_secret"], "s3cret");
}

TEST(JobClient, BaseUrlPathPrefixIsSentOnce) {
  FakeHttpServer server([](const RecordedRequest&) { return FakeResponse::json(kStatusOk); });
  IoThread io;
  JobClientConfig config = config_for(server);
  config.http.base_url = server.base_url() + "/api/bk-job/prod/";
  auto client = JobClient::create(io.io(), config);
  ASSERT_TRUE(client.ok()) << client.error().message;
  Waiter<JobSnapshot> w;
  (*client)->get_job_instance_status(status_request(), w.callback());
  ASSERT_TRUE(w.get().ok());
  const RecordedRequest req = server.requests().at(0);
  EXPECT_EQ(req.target.rfind("/api/bk-job/prod/api/v3/get_job_instance_status/?", 0), 0u)
      << req.target;
}

TEST(JobClient, ReusesOneKeepAliveConnection) {
  FakeHttpServer server([](const RecordedRequest&) { return FakeResponse::json(kStatusOk); });
  IoThread io;
  auto client = JobClient::create(io.io(), config_for(server));
  for (int i = 0; i < 5; ++i) {
    Waiter<JobSnapshot> w;
    (*client)->get_job_instance_status(status_request(), w.callback());
    ASSERT_TRUE(w.get().ok());
  }
  EXPECT_EQ(server.connections_accepted(), 1u);
  EXPECT_EQ(server.requests_received(), 5u);
}

TEST(JobClient, ReadsRetryOn502And429ThenSucceed) {
  std::atomic<int> n{0};
  FakeHttpServer server([&](const RecordedRequest&) {
    int i = n++;
    if (i == 0) return FakeResponse::with_status(502, "<html>bad gateway</html>");
    if (i == 1) {
      FakeResponse r = FakeResponse::with_status(429, "{}");
      r.headers.emplace_back("Retry-After", "0");
      return r;
    }
    return FakeResponse::json(kStatusOk);
  });
  IoThread io;
  auto client = JobClient::create(io.io(), config_for(server));
  Waiter<JobSnapshot> w;
  (*client)->get_job_instance_status(status_request(), w.callback());
  Result<JobSnapshot> r = w.get();
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(server.requests_received(), 3u);
}

TEST(JobClient, ReadsAreSentOnceMoreWhenTheAnswerDoesNotDecode) {
  const std::string full = kStatusOk;
  std::atomic<int> n{0};
  std::atomic<bool> always_cut{false};
  FakeHttpServer server([&](const RecordedRequest&) {
    // A proxy cut the first answer in half: HTTP 200, a complete message, half a JSON document.
    if (n++ == 0 || always_cut) return FakeResponse::json(full.substr(0, full.size() / 2));
    return FakeResponse::json(full);
  });
  IoThread io;
  auto client = JobClient::create(io.io(), config_for(server));
  Waiter<JobSnapshot> w;
  (*client)->get_job_instance_status(status_request(), w.callback());
  Result<JobSnapshot> r = w.get();
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r.value().job_instance_id, 100);
  EXPECT_EQ(server.requests_received(), 2u);

  // Once only: an answer that never decodes is an error after the second request.
  always_cut = true;
  Waiter<JobSnapshot> again;
  (*client)->get_job_instance_status(status_request(), again.callback());
  Result<JobSnapshot> failed = again.get();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, ErrorKind::kDecode);
  EXPECT_EQ(server.requests_received(), 4u);
}

TEST(JobClient, SubmitsWithAnUndecodableAnswerAreNotSentAgain) {
  const std::string full = kSubmitOk;
  FakeHttpServer server(
      [&](const RecordedRequest&) { return FakeResponse::json(full.substr(0, full.size() / 2)); });
  IoThread io;
  auto client = JobClient::create(io.io(), config_for(server));
  Waiter<JobRef> w;
  (*client)->execute_script(script_request(), w.callback());
  Result<JobRef> r = w.get();
  ASSERT_FALSE(r.ok());
  // The job may exist now: sending the submit again could run it twice.
  EXPECT_EQ(r.error().kind, ErrorKind::kDecode);
  EXPECT_EQ(server.requests_received(), 1u);
}

TEST(JobClient, SubmitsAreNotRetriedAndHtmlBecomesAnError) {
  FakeHttpServer server([](const RecordedRequest&) {
    return FakeResponse::with_status(502, "<html><body>502 Bad Gateway</body></html>");
  });
  IoThread io;
  auto client = JobClient::create(io.io(), config_for(server));
  Waiter<JobRef> w;
  (*client)->execute_script(script_request(), w.callback());
  Result<JobRef> r = w.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kHttp);
  EXPECT_EQ(r.error().http_status, 502);
  EXPECT_NE(r.error().message.find("502 Bad Gateway"), std::string::npos);
  EXPECT_EQ(server.count("POST"), 1u);

  Waiter<std::int64_t> t;
  OperateJobRequest op;
  op.scope = {"biz", "1"};
  op.job_instance_id = 100;
  (*client)->operate_job_instance(op, t.callback());
  EXPECT_FALSE(t.get().ok());
  EXPECT_EQ(server.count("POST"), 2u);
}

TEST(JobClient, BusinessErrorKeepsCodeAndRequestId) {
  FakeHttpServer server([](const RecordedRequest&) {
    return FakeResponse::json(
        R"({"result":false,"code":1244006,"message":"Job instance not exist","request_id":"abc"})");
  });
  IoThread io;
  auto client = JobClient::create(io.io(), config_for(server));
  Waiter<JobSnapshot> w;
  (*client)->get_job_instance_status(status_request(), w.callback());
  Result<JobSnapshot> r = w.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kJob);
  EXPECT_EQ(r.error().job_code, 1244006);
  EXPECT_EQ(r.error().request_id, "abc");
  EXPECT_EQ(server.requests_received(), 1u);  // a business error is an answer, not retried
}

TEST(JobClient, DeadlineExpiresAsTimeout) {
  FakeHttpServer server([](const RecordedRequest&) {
    FakeResponse r = FakeResponse::json(kStatusOk);
    r.delay = std::chrono::milliseconds(3000);
    return r;
  });
  IoThread io;
  JobClientConfig config = config_for(server);
  config.http.max_attempts = 1;
  auto client = JobClient::create(io.io(), config);
  Waiter<JobSnapshot> w;
  (*client)->get_job_instance_status(
      status_request(), w.callback(),
      std::chrono::steady_clock::now() + std::chrono::milliseconds(200));
  Result<JobSnapshot> r = w.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTimeout);
}

TEST(JobClient, TlsWithTheTestCaAndRefusedWithout) {
  FakeServerOptions tls;
  tls.tls = true;
  FakeHttpServer server([](const RecordedRequest&) { return FakeResponse::json(kStatusOk); }, tls);
  IoThread io;
  auto client = JobClient::create(io.io(), config_for(server));
  Waiter<JobSnapshot> w;
  (*client)->get_job_instance_status(status_request(), w.callback());
  Result<JobSnapshot> ok = w.get();
  ASSERT_TRUE(ok.ok()) << ok.error().describe();

  JobClientConfig untrusted = config_for(server);
  untrusted.http.ca_file.clear();
  auto strict = JobClient::create(io.io(), untrusted);
  Waiter<JobSnapshot> w2;
  (*strict)->get_job_instance_status(status_request(), w2.callback());
  Result<JobSnapshot> refused = w2.get();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kTransport);
}

TEST(JobClient, EncodingErrorsCompleteAsynchronously) {
  FakeHttpServer server;
  IoThread io;
  auto client = JobClient::create(io.io(), config_for(server));
  ExecuteScriptRequest bad = script_request();
  bad.targets.host_ids.clear();
  bad.targets.hosts = {{0, 0, "2001:db8::1"}};
  std::thread::id caller = std::this_thread::get_id();
  std::promise<std::thread::id> ran_on;
  Waiter<JobRef> w;
  (*client)->execute_script(bad, [&](Result<JobRef> r) {
    ran_on.set_value(std::this_thread::get_id());
    w.promise.set_value(std::move(r));
  });
  EXPECT_NE(ran_on.get_future().get(), caller);
  Result<JobRef> r = w.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(server.requests_received(), 0u);
}

}  // namespace
}  // namespace jobgw::core
