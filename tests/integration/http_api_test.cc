// The HTTP/JSON + SSE face end to end (README "HTTP API"): every route over a real socket, the
// same validation, tokens and grants as gRPC, event streams with Last-Event-ID resumption, and
// ListJobs over both transports.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/metrics_text.h"
#include "tests/integration/stack_probes.h"
#include "tests/integration/test_credentials.h"
#include "tests/support/http_client.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/sse_client.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

Json json_of(const HttpResponse& r) { return Json::parse(r.body, nullptr, false); }

// Sends `request` as written and returns everything the server answers until it closes.
std::string raw_exchange(int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    ssize_t n;
    while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) out.append(buffer, n);
  }
  ::close(fd);
  return out;
}

std::string script_body(const std::string& script, const std::string& name = "http-job") {
  Json body = {{"scope", {{"type", "biz"}, {"id", "1"}}},
               {"scriptContent", script},
               {"scriptLanguage", "SCRIPT_LANGUAGE_SHELL"},
               {"taskName", name},
               {"targets", {{"hostIds", {101, 102}}}}};
  return body.dump();
}

std::string job_path(const std::string& job) { return "/v1/scopes/biz/1/jobs/" + job; }

TEST(HttpApi, UnaryRoutesMapToTheServiceWithProtobufJson) {
  GatewayStack stack(three_hosts());
  const int port = stack.http_port();
  ASSERT_GT(port, 0);

  auto submitted = http_post_json(port, "/v1/scripts:execute", script_body("echo hello"));
  ASSERT_EQ(submitted.status, 200) << submitted.body;
  Json ref = json_of(submitted);
  const std::string job = ref.value("jobInstanceId", "");
  ASSERT_FALSE(job.empty()) << submitted.body;  // int64 as a string: the canonical mapping

  ASSERT_TRUE(wait_until(
      [&] { return json_of(http_get(port, job_path(job))).value("finished", false); }, 20s));
  Json status = json_of(http_get(port, job_path(job)));
  EXPECT_EQ(status["status"], "JOB_STATUS_SUCCESS");
  EXPECT_EQ(status["steps"][0]["hosts"].size(), 2u);

  auto logs = http_get(port, job_path(job) + "/logs?host_ids=101");
  ASSERT_EQ(logs.status, 200) << logs.body;
  EXPECT_EQ(json_of(logs)["scriptLogs"][0]["content"], "hello\n");

  auto listed = http_get(port, "/v1/jobs?state=JOB_STATE_FILTER_FINISHED&name_prefix=http-");
  ASSERT_EQ(listed.status, 200) << listed.body;
  Json jobs = json_of(listed)["jobs"];
  ASSERT_EQ(jobs.size(), 1u) << listed.body;
  EXPECT_EQ(jobs[0]["jobInstanceId"], job);
  EXPECT_EQ(jobs[0]["caller"], "anonymous");
  EXPECT_EQ(jobs[0]["hosts"]["success"], 2);

  // A body and the path's parameters together: both count.
  auto named = http_post_json(port, "/v1/scripts:execute?task_name=http-named",
                              script_body("echo named", "ignored"));
  ASSERT_EQ(named.status, 200) << named.body;
  EXPECT_EQ(json_of(named)["jobInstanceName"], "http-named");

  auto terminated = http_post_json(port, job_path(job) + ":terminate", R"({"operator": "admin"})");
  EXPECT_EQ(terminated.status, 400) << terminated.body;  // finished: FAILED_PRECONDITION
  EXPECT_EQ(json_of(terminated)["code"], "FAILED_PRECONDITION");
  EXPECT_EQ(terminated.header("jobgw-job-code"), "1241010");
}

TEST(HttpApi, BadRequestsGetJsonErrorsNamingTheProblem) {
  GatewayStack stack(three_hosts());
  const int port = stack.http_port();

  auto malformed = http_post_json(port, "/v1/scripts:execute", "{\"scope\": ");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(json_of(malformed)["code"], "INVALID_ARGUMENT");
  EXPECT_NE(json_of(malformed)["message"].get<std::string>().find("malformed JSON"),
            std::string::npos);

  auto unknown_field = http_post_json(port, "/v1/scripts:execute", R"({"bogus": 1})");
  EXPECT_EQ(unknown_field.status, 400);
  EXPECT_NE(unknown_field.body.find("bogus"), std::string::npos) << unknown_field.body;

  Json no_scope = Json::parse(script_body("echo x"));
  no_scope.erase("scope");
  auto validation = http_post_json(port, "/v1/scripts:execute", no_scope.dump());
  EXPECT_EQ(validation.status, 400);
  EXPECT_NE(json_of(validation)["message"].get<std::string>().find("scope"), std::string::npos);

  auto bad_number = http_get(port, job_path("abc"));
  EXPECT_EQ(bad_number.status, 400);
  EXPECT_NE(bad_number.body.find("job_instance_id"), std::string::npos) << bad_number.body;

  auto bad_query = http_get(port, "/v1/jobs?page_size=9999");
  EXPECT_EQ(bad_query.status, 400);
  EXPECT_NE(bad_query.body.find("page_size"), std::string::npos);

  auto not_found = http_get(port, "/v1/nothing");
  EXPECT_EQ(not_found.status, 404);
  EXPECT_EQ(json_of(not_found)["code"], "NOT_FOUND");

  auto wrong_method = http_request("DELETE", port, "/v1/jobs");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.header("allow"), "GET");
  EXPECT_EQ(json_of(wrong_method)["code"], "UNIMPLEMENTED");

  auto unknown_job = http_get(port, job_path("999999"));
  EXPECT_EQ(unknown_job.status, 404);
  EXPECT_EQ(json_of(unknown_job)["code"], "NOT_FOUND");

  // Larger than the listener takes at all (4 x grpc.max_receive_message_bytes): refused from
  // its headers, before a byte of the body is read.
  const std::string too_large = raw_exchange(
      port,
      "POST /v1/scripts:execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 999999999\r\n\r\n");
  EXPECT_NE(too_large.find(" 413 "), std::string::npos) << too_large;
  EXPECT_NE(too_large.find("\"RESOURCE_EXHAUSTED\""), std::string::npos) << too_large;

  // An oversized script is refused by validation, naming the field, as over gRPC.
  auto big_script = http_post_json(port, "/v1/scripts:execute",
                                   script_body(std::string(1100 * 1024, 'a')), {}, 30s);
  EXPECT_EQ(big_script.status, 400);
  EXPECT_NE(big_script.body.find("script_content"), std::string::npos);
}

TEST(HttpApi, EventStreamsCarrySeqIdsResumeWithLastEventIdAndEnd) {
  GatewayStack stack(three_hosts());
  const int port = stack.http_port();
  auto submitted = http_post_json(port, "/v1/scripts:execute", script_body("sleep 1; echo done"));
  ASSERT_EQ(submitted.status, 200);
  const std::string job = json_of(submitted)["jobInstanceId"];

  SseClient first(port, job_path(job) + "/events");
  ASSERT_EQ(first.status(), 200) << first.error();
  EXPECT_NE(first.header("content-type").find("text/event-stream"), std::string::npos);
  auto snapshot = first.next(20s);
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(snapshot->event, "status");
  Json event = Json::parse(snapshot->data);
  EXPECT_EQ(event["kind"], "EVENT_KIND_SNAPSHOT");
  EXPECT_EQ(snapshot->id, event.value("seq", ""));
  first.close();

  SseClient resumed(port, job_path(job) + "/events", {{"Last-Event-ID", snapshot->id}});
  ASSERT_EQ(resumed.status(), 200);
  std::string last_kind;
  bool all_resumed = true;
  std::optional<SseEvent> end;
  while (auto e = resumed.next(30s)) {
    if (e->event == "end") {
      end = e;
      break;
    }
    Json j = Json::parse(e->data);
    last_kind = j.value("kind", "");
    all_resumed = all_resumed && j.value("resumed", false);
  }
  EXPECT_EQ(last_kind, "EVENT_KIND_FINISHED");
  EXPECT_TRUE(all_resumed);
  ASSERT_TRUE(end);
  EXPECT_EQ(Json::parse(end->data)["code"], "OK");
  EXPECT_FALSE(resumed.next(5s)) << "nothing after the end event";
  EXPECT_TRUE(resumed.ended());

  SseClient bad(port, job_path(job) + "/events", {{"Last-Event-ID", "x1"}});
  EXPECT_EQ(bad.status(), 400);
  EXPECT_NE(bad.body().find("Last-Event-ID"), std::string::npos);
}

TEST(HttpApi, AnEventStreamCanAskForProgressOnlyAndAnUnknownDetailIsRefused) {
  GatewayStack stack(three_hosts());
  const int port = stack.http_port();
  auto submitted =
      http_post_json(port, "/v1/scripts:execute", script_body("sleep 1; echo one; sleep 1"));
  ASSERT_EQ(submitted.status, 200);
  const std::string job = json_of(submitted)["jobInstanceId"];

  SseClient progress(port, job_path(job) + "/events?detail=WATCH_DETAIL_PROGRESS");
  ASSERT_EQ(progress.status(), 200) << progress.body();
  std::vector<std::string> kinds;
  while (auto e = progress.next(30s)) {
    if (e->event == "end") break;
    kinds.push_back(Json::parse(e->data).value("kind", ""));
  }
  ASSERT_FALSE(kinds.empty());
  EXPECT_EQ(kinds.back(), "EVENT_KIND_FINISHED");
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "EVENT_KIND_HOST_CHANGED"), 0);

  SseClient bad(port, job_path(job) + "/events?detail=EVERYTHING");
  EXPECT_EQ(bad.status(), 400);
  EXPECT_NE(bad.body().find("detail"), std::string::npos) << bad.body();
}

TEST(HttpApi, AClientLeavingMidStreamFreesItsSubscriberAndIdleStreamsGetHeartbeats) {
  GatewayStack stack(three_hosts({}, {"--http.heartbeat_ms=200"}));
  const int port = stack.http_port();
  auto submitted = http_post_json(port, "/v1/scripts:execute", script_body("sleep 30"));
  ASSERT_EQ(submitted.status, 200);
  const std::string job = json_of(submitted)["jobInstanceId"];
  auto subscribers = [&] {
    return metric_value(scrape_metrics(stack.metrics_port()), "jobgw_subscribers");
  };
  const double before = subscribers();
  {
    SseClient stream(port, job_path(job) + "/events");
    ASSERT_EQ(stream.status(), 200);
    ASSERT_TRUE(stream.next(20s));  // the snapshot
    ASSERT_TRUE(wait_until([&] { return subscribers() >= before + 1; }, 10s));
    // Little changes for a while (the host starts, then sleeps): heartbeats keep the stream
    // visibly alive in between.
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (std::chrono::steady_clock::now() < until) {
      stream.next(std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now()));
      ASSERT_FALSE(stream.ended());
    }
    EXPECT_GE(stream.comments(), 3u);
    stream.close();
  }
  EXPECT_TRUE(wait_until([&] { return subscribers() <= before; }, 10s))
      << "the stream's subscriber was not freed: " << subscribers();
}

TEST(HttpApi, StatusPageIsServedWithAStrictContentSecurityPolicy) {
  GatewayStack stack(three_hosts());
  auto page = http_get(stack.http_port(), "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.header("content-type").find("text/html"), std::string::npos);
  const std::string csp = page.header("content-security-policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(page.header("x-content-type-options"), "nosniff");
  auto again = http_get(stack.http_port(), "/", {{"If-None-Match", page.header("etag")}});
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(http_get(stack.http_port(), "/app.js").status, 200);
  EXPECT_EQ(http_get(stack.http_port(), "/healthz").status, 200);
}

TEST(HttpApi, CorsIsOffUnlessOriginsAreListed) {
  GatewayStack plain(three_hosts());
  auto off = http_get(plain.http_port(), "/v1/jobs", {{"Origin", "https://dash.example"}});
  EXPECT_EQ(off.status, 200);
  EXPECT_EQ(off.header("access-control-allow-origin"), "");

  GatewayStack cors(three_hosts({}, {"--http.cors_origins=https://dash.example"}));
  auto allowed = http_get(cors.http_port(), "/v1/jobs", {{"Origin", "https://dash.example"}});
  EXPECT_EQ(allowed.header("access-control-allow-origin"), "https://dash.example");
  auto other = http_get(cors.http_port(), "/v1/jobs", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(other.header("access-control-allow-origin"), "");
  auto preflight =
      http_request("OPTIONS", cors.http_port(), "/v1/scripts:execute", "",
                   {{"Origin", "https://dash.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_NE(preflight.header("access-control-allow-headers").find("Authorization"),
            std::string::npos);
}

TEST(HttpApi, TokensAndGrantsAreTheSameAsOverGrpc) {
  StackOptions options = three_hosts();
  options.credentials_json = ops_and_reader_credentials();
  GatewayStack stack(options);
  const int port = stack.http_port();
  const HttpHeaders ops = {{"Authorization", std::string("Bearer ") + kOpsToken}};
  const HttpHeaders reader = {{"Authorization", std::string("Bearer ") + kReaderToken}};

  auto anonymous = http_get(port, "/v1/jobs");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(json_of(anonymous)["code"], "UNAUTHENTICATED");

  // jobsim's hosts are all in biz 1; which scopes a listing keeps has unit tests of its own
  // (tests/server/job_listing_test.cc).
  Json body1 = Json::parse(script_body("echo one", "scoped-1"));
  auto one = http_post_json(port, "/v1/scripts:execute", body1.dump(), ops);
  ASSERT_EQ(one.status, 200) << one.body;

  auto denied = http_post_json(port, "/v1/scripts:execute", body1.dump(), reader);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(json_of(denied)["code"], "PERMISSION_DENIED");

  // The reader lists only what it may read; asking for another scope is refused.
  auto mine = json_of(http_get(port, "/v1/jobs?name_prefix=scoped-", reader));
  ASSERT_EQ(mine["jobs"].size(), 1u) << mine.dump();
  EXPECT_EQ(mine["jobs"][0]["name"], "scoped-1");
  EXPECT_EQ(mine["jobs"][0]["caller"], "ops");
  EXPECT_EQ(http_get(port, "/v1/jobs?scope.id=2", reader).status, 403);
  auto all = json_of(http_get(port, "/v1/jobs?scope.id=1&name_prefix=scoped-", ops));
  EXPECT_EQ(all["jobs"].size(), 1u);

  // The same over gRPC.
  grpc::ClientContext context;
  context.AddMetadata("authorization", std::string("Bearer ") + kReaderToken);
  v1::ListJobsRequest request;
  request.set_name_prefix("scoped-");
  v1::ListJobsResponse response;
  ASSERT_TRUE(stack.stub().ListJobs(&context, request, &response).ok());
  EXPECT_EQ(response.jobs_size(), 1);

  EXPECT_EQ(stack.all_logs().find(kOpsToken), std::string::npos) << "a token reached a log";
}

TEST(ListJobs, FiltersPagesNewestFirstAndRefusesForeignTokens) {
  GatewayStack stack(three_hosts());
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto request = script_request(i == 4 ? "exit 3" : "echo ok", {101});
    request.set_task_name("page-" + std::to_string(i));
    auto submitted = execute(stack.stub(), request);
    ASSERT_TRUE(submitted.status.ok());
    ids.push_back(submitted.ref.job_instance_id());
    std::this_thread::sleep_for(20ms);  // distinct create times
  }
  auto running = script_request("sleep 30", {101});
  running.set_task_name("page-running");
  ASSERT_TRUE(execute(stack.stub(), running).status.ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(watch_to_end(stack.stub(), ids[i]).status.ok());

  auto list = [&](v1::ListJobsRequest request) {
    grpc::ClientContext context;
    v1::ListJobsResponse response;
    auto status = stack.stub().ListJobs(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  };
  v1::ListJobsRequest request;
  request.set_name_prefix("page-");
  request.set_state(v1::JOB_STATE_FILTER_FINISHED);
  request.set_page_size(2);
  std::vector<std::int64_t> seen;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = list(request);
    for (const auto& job : page.jobs()) seen.push_back(job.job_instance_id());
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(seen, (std::vector<std::int64_t>{ids[4], ids[3], ids[2], ids[1], ids[0]}));

  v1::ListJobsRequest failed;
  failed.set_name_prefix("page-");
  failed.set_state(v1::JOB_STATE_FILTER_FAILED);
  auto failed_page = list(failed);
  ASSERT_EQ(failed_page.jobs_size(), 1);
  EXPECT_EQ(failed_page.jobs(0).job_instance_id(), ids[4]);
  EXPECT_EQ(failed_page.jobs(0).hosts().failed(), 1);

  v1::ListJobsRequest live;
  live.set_state(v1::JOB_STATE_FILTER_RUNNING);
  auto live_page = list(live);
  ASSERT_EQ(live_page.jobs_size(), 1);
  EXPECT_EQ(live_page.jobs(0).name(), "page-running");
  EXPECT_EQ(live_page.jobs(0).caller(), "anonymous");
  EXPECT_EQ(live_page.jobs(0).operator_(), "admin");

  // A token only continues the listing it came from.
  v1::ListJobsRequest other;
  other.set_page_size(2);
  other.set_page_token(request.page_token());
  grpc::ClientContext context;
  v1::ListJobsResponse response;
  auto status = stack.stub().ListJobs(&context, other, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("page_token"), std::string::npos);
}

}  // namespace
}  // namespace jobgw::testing
