#include "server/callback_endpoint.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics/metrics.h"
#include "core/watch/watch_hub.h"
#include "server/callback_secret.h"
#include "server/http_listener.h"
#include "server/server_metrics.h"
#include "tests/support/manual_scheduler.h"

namespace jobgw::server {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// ---- parser -------------------------------------------------------------------------------

TEST(ParseJobCallbackTest, DocumentedBody) {
  auto cb = parse_job_callback(
      R"({"job_instance_id": 12345, "status": 3,
          "step_instance_list": [{"step_instance_id": 16271, "status": 3},
                                 {"step_instance_id": 16272, "status": 4}]})");
  ASSERT_TRUE(cb.ok()) << cb.error().message;
  EXPECT_EQ(cb.value().job_instance_id, 12345);
  EXPECT_EQ(cb.value().status, 3);
  ASSERT_EQ(cb.value().steps.size(), 2u);
  EXPECT_EQ(cb.value().steps[1].step_instance_id, 16272);
  EXPECT_EQ(cb.value().steps[1].status, 4);
}

TEST(ParseJobCallbackTest, StepsOptionalAndUnknownFieldsIgnored) {
  auto cb = parse_job_callback(R"({"job_instance_id": 9007199254740993, "status": 4,
                                   "bk_biz_id": 2, "extra": {"a": [1]}})");
  ASSERT_TRUE(cb.ok()) << cb.error().message;
  EXPECT_EQ(cb.value().job_instance_id, 9007199254740993LL);  // beyond double precision
  EXPECT_TRUE(cb.value().steps.empty());
  EXPECT_TRUE(
      parse_job_callback(R"({"job_instance_id":1,"status":2,"step_instance_list":null})").ok());
}

TEST(ParseJobCallbackTest, RejectsBadShapes) {
  struct Case {
    const char* body;
    const char* mentions;
  };
  const Case cases[] = {
      {"", "not valid JSON"},
      {"{", "not valid JSON"},
      {"{\"job_instance_id\": 1, \"status\": 3", "not valid JSON"},
      {"[1,2]", "expected an object"},
      {"\"x\"", "expected an object"},
      {R"({"status": 3})", "job_instance_id is missing"},
      {R"({"job_instance_id": "12345", "status": 3})", "job_instance_id must be an integer"},
      {R"({"job_instance_id": 1.5, "status": 3})", "job_instance_id must be an integer"},
      {R"({"job_instance_id": 0, "status": 3})", "job_instance_id is out of range"},
      {R"({"job_instance_id": -4, "status": 3})", "job_instance_id is out of range"},
      {R"({"job_instance_id": 18446744073709551615, "status": 3})", "out of range"},
      {R"({"job_instance_id": 1})", "status is missing"},
      {R"({"job_instance_id": 1, "status": 99999999999})", "status is out of range"},
      {R"({"job_instance_id": 1, "status": true})", "status must be an integer"},
      {R"({"job_instance_id": 1, "status": 3, "step_instance_list": {}})", "must be an array"},
      {R"({"job_instance_id": 1, "status": 3, "step_instance_list": [7]})",
       "step_instance_list[0] must be an object"},
      {R"({"job_instance_id": 1, "status": 3, "step_instance_list": [{"status": 3}]})",
       "step_instance_list[0].step_instance_id is missing"},
  };
  for (const auto& c : cases) {
    auto cb = parse_job_callback(c.body);
    ASSERT_FALSE(cb.ok()) << c.body;
    EXPECT_EQ(cb.error().kind, core::ErrorKind::kDecode) << c.body;
    EXPECT_NE(cb.error().message.find(c.mentions), std::string::npos)
        << c.body << " -> " << cb.error().message;
  }
}

TEST(ParseJobCallbackTest, DeepNestingIsRejectedWithoutRecursion) {
  std::string deep = "{\"job_instance_id\":1,\"status\":3,\"x\":" + std::string(60000, '[') +
                     std::string(60000, ']') + "}";
  auto cb = parse_job_callback(deep);
  ASSERT_FALSE(cb.ok());
  EXPECT_NE(cb.error().message.find("nested too deeply"), std::string::npos);
  // Brackets inside strings are not nesting.
  EXPECT_TRUE(parse_job_callback("{\"job_instance_id\":1,\"status\":3,\"n\":\"" +
                                 std::string(100, '[') + "\\\"\"}")
                  .ok());
}

TEST(ParseJobCallbackTest, ErrorsNeverQuoteTheBody) {
  auto cb = parse_job_callback(R"({"job_instance_id": "secret-token-abc", "status": 3})");
  ASSERT_FALSE(cb.ok());
  EXPECT_EQ(cb.error().message.find("secret-token-abc"), std::string::npos);
}

TEST(ParseJobCallbackTest, ArbitraryBytesNeverThrow) {
  std::string bytes;
  for (int i = 0; i < 4096; ++i) {
    bytes.push_back(static_cast<char>((i * 7919) % 256));
    EXPECT_NO_THROW({ (void)parse_job_callback(bytes); });
  }
}

TEST(ParseJobCallbackTest, StepInstancesAsJobsCodeSendsThem) {
  auto cb = parse_job_callback(
      R"({"job_instance_id": 12345, "status": 4,
          "step_instances": [{"step_instance_id": 16271, "status": 3},
                             {"step_instance_id": 16272, "status": 4}]})");
  ASSERT_TRUE(cb.ok()) << cb.error().message;
  ASSERT_EQ(cb.value().steps.size(), 2u);
  EXPECT_EQ(cb.value().steps[1].step_instance_id, 16272);
  EXPECT_EQ(cb.value().steps[1].status, 4);
  // The documented name wins when both are there; a null one gives way to the other.
  auto both = parse_job_callback(
      R"({"job_instance_id": 1, "status": 3, "step_instance_list": [{"step_instance_id": 5,
          "status": 3}], "step_instances": [{"step_instance_id": 6, "status": 3}]})");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both.value().steps.at(0).step_instance_id, 5);
  auto null_doc = parse_job_callback(
      R"({"job_instance_id": 1, "status": 3, "step_instance_list": null,
          "step_instances": [{"step_instance_id": 6, "status": 3}]})");
  ASSERT_TRUE(null_doc.ok());
  EXPECT_EQ(null_doc.value().steps.at(0).step_instance_id, 6);
  auto bad = parse_job_callback(
      R"({"job_instance_id": 1, "status": 3, "step_instances": [{"status": 3}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("step_instances[0].step_instance_id is missing"),
            std::string::npos)
      << bad.error().message;
  auto not_array =
      parse_job_callback(R"({"job_instance_id": 1, "status": 3, "step_instances": "x"})");
  ASSERT_FALSE(not_array.ok());
  EXPECT_NE(not_array.error().message.find("step_instances must be an array"), std::string::npos);
}

constexpr const char* kForm = "application/x-www-form-urlencoded";

TEST(ParseJobCallbackTest, FormRetryCarriesTheSameJsonText) {
  const std::string json = R"({"job_instance_id": 42, "status": 3,
      "step_instances": [{"step_instance_id": 7, "status": 3}]})";
  for (const char* type : {kForm, "Application/X-WWW-Form-Urlencoded; charset=UTF-8"}) {
    auto cb = parse_job_callback(type, json);
    ASSERT_TRUE(cb.ok()) << type << ": " << cb.error().message;
    EXPECT_EQ(cb.value().job_instance_id, 42);
    EXPECT_EQ(cb.value().steps.at(0).step_instance_id, 7);
  }
  // The JSON text URL-encoded, '+' for spaces.
  auto encoded = parse_job_callback(kForm, "%7B%22job_instance_id%22%3A+42%2C%22status%22%3A4%7D");
  ASSERT_TRUE(encoded.ok()) << encoded.error().message;
  EXPECT_EQ(encoded.value().status, 4);
  // A field holding the JSON text.
  auto wrapped =
      parse_job_callback(kForm, "app=job&data=%7B%22job_instance_id%22%3A42%2C%22status%22%3A3%7D");
  ASSERT_TRUE(wrapped.ok()) << wrapped.error().message;
  EXPECT_EQ(wrapped.value().job_instance_id, 42);
  // Plain form fields with the two numbers.
  auto fields = parse_job_callback(kForm, "job_instance_id=42&status=3&extra=");
  ASSERT_TRUE(fields.ok()) << fields.error().message;
  EXPECT_EQ(fields.value().job_instance_id, 42);
  EXPECT_EQ(fields.value().status, 3);
  EXPECT_TRUE(fields.value().steps.empty());
  // Other types read the body as JSON, as before.
  EXPECT_TRUE(parse_job_callback("text/plain", json).ok());
  EXPECT_TRUE(parse_job_callback("", json).ok());
  EXPECT_FALSE(parse_job_callback("application/json", "job_instance_id=42&status=3").ok());
}

TEST(ParseJobCallbackTest, BadFormBodiesNameTheProblem) {
  struct Case {
    const char* body;
    const char* mentions;
  };
  const Case cases[] = {
      {"", "neither JSON text nor URL-encoded JSON nor form fields"},
      {"garbage", "neither JSON text nor URL-encoded JSON nor form fields"},
      {"%7B%2", "bad percent-encoding"},
      {"a=%zz", "bad percent-encoding"},
      {"job_instance_id=42", "nor job_instance_id and status fields"},
      {"job_instance_id=4x2&status=3", "must be integers"},
      {"job_instance_id=-1&status=3", "must be integers"},
      {"job_instance_id=0&status=3", "job_instance_id is out of range"},
      {"%7B%22job_instance_id%22%3A%22x%22%2C%22status%22%3A3%7D",
       "job_instance_id must be an integer"},
      {"{\"job_instance_id\": 1", "not valid JSON"},
  };
  for (const Case& c : cases) {
    auto cb = parse_job_callback(kForm, c.body);
    ASSERT_FALSE(cb.ok()) << c.body;
    EXPECT_EQ(cb.error().kind, core::ErrorKind::kDecode);
    EXPECT_NE(cb.error().message.find(c.mentions), std::string::npos)
        << c.body << " -> " << cb.error().message;
  }
}

TEST(ParseJobCallbackTest, ArbitraryFormBytesNeverThrow) {
  std::string bytes;
  for (int i = 0; i < 4096; ++i) {
    bytes.push_back("%{}=&+7B2\"a0"[(i * 7919) % 13]);
    EXPECT_NO_THROW({ (void)parse_job_callback(kForm, bytes); });
  }
  std::string deep = "%7B%22job_instance_id%22%3A1%2C%22status%22%3A3%2C%22x%22%3A";
  for (int i = 0; i < 5000; ++i) deep += "%5B";
  auto cb = parse_job_callback(kForm, deep);
  ASSERT_FALSE(cb.ok());
  EXPECT_NE(cb.error().message.find("nested too deeply"), std::string::npos);
}

// ---- routes over a real hub -----------------------------------------------------------------

// Reads never complete on their own: the routes only need the hub to know which jobs it watches.
class PendingSource : public core::StatusSource {
 public:
  void read_status(const core::Scope&, std::int64_t job,
                   std::function<void(core::Result<core::JobSnapshot>)> done) override {
    std::lock_guard<std::mutex> lock(mu_);
    reads_.push_back(job);
    pending_.push_back(std::move(done));
  }
  std::size_t reads() {
    std::lock_guard<std::mutex> lock(mu_);
    return reads_.size();
  }

 private:
  std::mutex mu_;
  std::vector<std::int64_t> reads_;
  std::vector<std::function<void(core::Result<core::JobSnapshot>)>> pending_;
};

class RoutesTest : public ::testing::Test {
 protected:
  RoutesTest() : hub_(scheduler_, source_, core::WatchHubConfig{}, &core_metrics_) {
    core::Scope scope;
    scope.id = "1";
    hub_.watch(scope, 42);
    scheduler_.run_due();
  }
  ~RoutesTest() override { hub_.shutdown(core::Error::internal("test over")); }

  // Callbacks carry a token minted by secret_, like those JOB sends back.
  HttpListenerResponse call(const std::string& method, const std::string& path,
                            const std::string& body = "") {
    return call_target(method, path == kCallbackPath ? secret_.mint(path) : path, body);
  }
  HttpListenerResponse call_target(const std::string& method, const std::string& target,
                                   const std::string& body = "",
                                   const std::string& content_type = "") {
    HttpListenerRequest req;
    req.method = method;
    req.target = target;
    req.path = target.substr(0, target.find('?'));
    req.content_type = content_type;
    req.body = body;
    req.remote = "127.0.0.1:1";
    return routes_(req);
  }

  bool metric_has(const std::string& line) {
    return metrics_.serialize().find(line) != std::string::npos;
  }

  core::ManualScheduler scheduler_;
  PendingSource source_;
  core::Metrics core_metrics_;
  ServerMetrics metrics_{core_metrics_};
  core::WatchHub hub_;
  CallbackSecret secret_{std::string(32, 'k')};
  HttpListener::Handler routes_ =
      make_http_routes(RouteTargets{&hub_, &metrics_, /*serve_metrics=*/true, &secret_});
};

TEST_F(RoutesTest, CallbacksWithoutAValidTokenAre403BeforeAnythingElse) {
  const std::string body = R"({"job_instance_id": 42, "status": 3})";
  CallbackSecret other(std::string(32, 'o'));
  const std::string valid = secret_.mint(std::string(kCallbackPath));
  std::string tampered = valid;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  const std::string targets[] = {
      std::string(kCallbackPath),
      std::string(kCallbackPath) + "?token=",
      std::string(kCallbackPath) + "?token=abc.def",
      std::string(kCallbackPath) + "?other=" + valid.substr(valid.find('=') + 1),
      other.mint(std::string(kCallbackPath)),
      tampered,
  };
  std::size_t reads_before = source_.reads();
  for (const auto& target : targets) {
    auto r = call_target("POST", target, body);
    EXPECT_EQ(r.status, 403) << target;
    EXPECT_EQ(r.body, R"({"result":false,"outcome":"refused"})");
  }
  // Neither the method nor the body is looked at without a token.
  EXPECT_EQ(call_target("GET", std::string(kCallbackPath)).status, 403);
  EXPECT_EQ(call_target("POST", std::string(kCallbackPath), "{not json").status, 403);
  scheduler_.run_due();
  EXPECT_EQ(source_.reads(), reads_before);
  EXPECT_TRUE(metric_has("jobgw_callbacks_total{outcome=\"refused\"} 8\n"));
  EXPECT_TRUE(metric_has("jobgw_callbacks_total{outcome=\"accepted\"} 0\n"));
  EXPECT_EQ(call_target("POST", valid, body).status, 200);
}

TEST_F(RoutesTest, WithoutASecretEveryCallbackIsRefused) {
  auto open = make_http_routes(RouteTargets{&hub_, &metrics_, true, nullptr});
  HttpListenerRequest req;
  req.method = "POST";
  req.target = secret_.mint(std::string(kCallbackPath));
  req.path = std::string(kCallbackPath);
  req.body = R"({"job_instance_id": 42, "status": 3})";
  EXPECT_EQ(open(req).status, 403);
}

TEST_F(RoutesTest, CallbackForWatchedJobIsAccepted) {
  auto r = call("POST", "/jobgw/v1/callback", R"({"job_instance_id": 42, "status": 3})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_TRUE(metric_has("jobgw_callbacks_total{outcome=\"accepted\"} 1\n"));
}

TEST_F(RoutesTest, CallbackForUnknownJobIs404) {
  auto r = call("POST", "/jobgw/v1/callback", R"({"job_instance_id": 7, "status": 3})");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(metric_has("jobgw_callbacks_total{outcome=\"unknown_job\"} 1\n"));
}

TEST_F(RoutesTest, MalformedCallbackIs400) {
  EXPECT_EQ(call("POST", "/jobgw/v1/callback", "{not json").status, 400);
  EXPECT_EQ(call("POST", "/jobgw/v1/callback", R"({"job_instance_id": "42"})").status, 400);
  EXPECT_TRUE(metric_has("jobgw_callbacks_total{outcome=\"malformed\"} 2\n"));
}

TEST_F(RoutesTest, MalformedCallbackSaysWhatIsWrong) {
  auto r = call("POST", "/jobgw/v1/callback", R"({"job_instance_id": "secret-42", "status": 3})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_NE(r.body.find("\"outcome\":\"malformed\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("job_instance_id must be an integer"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("secret-42"), std::string::npos) << r.body;
}

TEST_F(RoutesTest, FormEncodedRetryIsAccepted) {
  const std::string target = secret_.mint(std::string(kCallbackPath));
  auto raw =
      call_target("POST", target, R"({"job_instance_id": 42, "status": 3, "step_instances": []})",
                  "application/x-www-form-urlencoded");
  EXPECT_EQ(raw.status, 200) << raw.body;
  auto encoded = call_target("POST", target, "%7B%22job_instance_id%22%3A42%2C%22status%22%3A3%7D",
                             "application/x-www-form-urlencoded; charset=UTF-8");
  EXPECT_EQ(encoded.status, 200) << encoded.body;
  auto bad = call_target("POST", target, "what=ever", "application/x-www-form-urlencoded");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("form body"), std::string::npos) << bad.body;
  EXPECT_TRUE(metric_has("jobgw_callbacks_total{outcome=\"accepted\"} 2\n"));
}

TEST_F(RoutesTest, OtherMethodsAre405WithAllow) {
  auto r = call("GET", "/jobgw/v1/callback");
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Allow");
  EXPECT_EQ(r.headers[0].second, "POST");
  EXPECT_EQ(call("PUT", "/jobgw/v1/callback", "{}").status, 405);
  EXPECT_TRUE(metric_has("jobgw_callbacks_total{outcome=\"method_not_allowed\"} 2\n"));
}

TEST_F(RoutesTest, OtherPathsAre404) {
  EXPECT_EQ(call("POST", "/jobgw/v1/callbacks", "{}").status, 404);
  EXPECT_EQ(call("GET", "/").status, 404);
  EXPECT_TRUE(metric_has("jobgw_callbacks_total{outcome=\"not_found\"} 2\n"));
}

TEST_F(RoutesTest, MetricsAndHealth) {
  (void)call("POST", "/jobgw/v1/callback", R"({"job_instance_id": 42, "status": 3})");
  auto m = call("GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m.body.find("jobgw_callbacks_total{outcome=\"accepted\"} 1"), std::string::npos);
  EXPECT_EQ(call("POST", "/metrics").status, 405);
  auto h = call("GET", "/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "ok\n");
}

TEST(RoutesWithoutTargetsTest, DisabledRoutesAre404) {
  core::Metrics core_metrics;
  ServerMetrics metrics(core_metrics);
  auto callbacks_only = make_http_routes(RouteTargets{nullptr, &metrics, false});
  HttpListenerRequest req;
  req.method = "GET";
  req.path = req.target = "/metrics";
  EXPECT_EQ(callbacks_only(req).status, 404);
  req.method = "POST";
  req.path = req.target = "/jobgw/v1/callback";
  req.body = R"({"job_instance_id": 42, "status": 3})";
  EXPECT_EQ(callbacks_only(req).status, 404);
}

// ---- the listener over real sockets --------------------------------------------------------

class ListenerTest : public ::testing::Test {
 protected:
  void start(HttpListener::Handler handler, HttpListenerOptions options = {},
             const std::string& host = "127.0.0.1") {
    auto created = HttpListener::create(io_, host, 0, std::move(handler), options);
    ASSERT_TRUE(created.ok()) << created.error().message;
    listener_ = std::move(created.value());
    ASSERT_NE(listener_->port(), 0);
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  ~ListenerTest() override {
    if (listener_) listener_->stop();
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  // Connects with a receive timeout so a broken server fails the test instead of hanging it.
  tcp::socket connect(const std::string& host = "127.0.0.1") {
    asio::io_context& io = client_io_;
    tcp::socket s(io);
    s.connect(tcp::endpoint(asio::ip::make_address(host), listener_->port()));
    timeval tv{5, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return s;
  }

  // Sends raw bytes and reads until the server closes (or 5 s pass).
  std::string exchange(const std::string& raw, const std::string& host = "127.0.0.1") {
    tcp::socket s = connect(host);
    asio::write(s, asio::buffer(raw));
    return read_to_end(s);
  }

  static std::string read_to_end(tcp::socket& s) {
    std::string out;
    char buf[4096];
    for (;;) {
      boost::system::error_code ec;
      std::size_t n = s.read_some(asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) break;
    }
    return out;
  }

  static int count(const std::string& haystack, const std::string& needle) {
    int n = 0;
    for (auto pos = haystack.find(needle); pos != std::string::npos;
         pos = haystack.find(needle, pos + 1)) {
      ++n;
    }
    return n;
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  asio::io_context client_io_;
  std::unique_ptr<HttpListener> listener_;
  std::vector<std::thread> threads_;
};

HttpListenerResponse echo(const HttpListenerRequest& req) {
  HttpListenerResponse r;
  r.body = req.method + " " + req.path + " " + std::to_string(req.body.size());
  return r;
}

TEST_F(ListenerTest, ServesRequestsAndKeepsAlive) {
  start(echo);
  std::string out = exchange(
      "POST /a?x=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
      "GET /b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(count(out, "HTTP/1.1 200 OK"), 2) << out;
  EXPECT_NE(out.find("POST /a 3"), std::string::npos) << out;
  EXPECT_NE(out.find("GET /b 0"), std::string::npos) << out;
}

TEST_F(ListenerTest, MalformedRequestsGet400AndServerSurvives) {
  start(echo);
  for (const char* garbage :
       {"GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    std::string out = exchange(garbage);
    EXPECT_NE(out.find("HTTP/1.1 400"), std::string::npos) << garbage << " -> " << out;
  }
  std::string ok = exchange("GET /still HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_NE(ok.find("GET /still 0"), std::string::npos) << ok;
}

TEST_F(ListenerTest, BodyAndHeaderLimits) {
  HttpListenerOptions options;
  options.body_limit = 1024;
  start(echo, options);
  std::string out =
      exchange("POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + std::string(2000, 'x'));
  EXPECT_NE(out.find("HTTP/1.1 413"), std::string::npos) << out;
  out = exchange("GET / HTTP/1.1\r\nX-Big: " + std::string(20000, 'h') + "\r\n\r\n");
  EXPECT_NE(out.find("HTTP/1.1 431"), std::string::npos) << out.substr(0, 200);
}

TEST_F(ListenerTest, HandlerExceptionIs500) {
  start(
      [](const HttpListenerRequest&) -> HttpListenerResponse { throw std::runtime_error("boom"); });
  std::string out = exchange("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("HTTP/1.1 500"), std::string::npos) << out;
}

TEST_F(ListenerTest, SilentClientTimesOut) {
  HttpListenerOptions options;
  options.read_timeout = 200ms;
  start(echo, options);
  tcp::socket s = connect();
  auto begin = std::chrono::steady_clock::now();
  std::string out = read_to_end(s);
  auto waited = std::chrono::steady_clock::now() - begin;
  EXPECT_TRUE(out.empty()) << out;
  EXPECT_LT(waited, 3s);
}

TEST_F(ListenerTest, StopClosesIdleConnectionsAndRefusesNewOnes) {
  start(echo);
  tcp::socket s = connect();
  asio::write(s, asio::buffer(std::string("GET /x HTTP/1.1\r\nHost: t\r\n\r\n")));
  std::string got;
  char buf[1024];
  while (got.find("GET /x 0") == std::string::npos) {
    boost::system::error_code ec;
    std::size_t n = s.read_some(asio::buffer(buf), ec);
    ASSERT_FALSE(ec) << ec.message();
    got.append(buf, n);
  }
  auto begin = std::chrono::steady_clock::now();
  listener_->stop();
  std::string rest = read_to_end(s);  // the kept-alive connection is closed, not left to time out
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 3s);
  EXPECT_TRUE(rest.empty());
  std::this_thread::sleep_for(50ms);
  tcp::socket again(client_io_);
  boost::system::error_code ec;
  again.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), listener_->port()), ec);
  EXPECT_TRUE(ec) << "still accepting after stop()";
}

TEST_F(ListenerTest, IPv6Loopback) {
  {
    // Hosts without IPv6 cannot run this test; that is not a listener bug.
    boost::system::error_code ec;
    tcp::acceptor probe(client_io_);
    probe.open(tcp::v6(), ec);
    if (!ec) probe.bind(tcp::endpoint(asio::ip::make_address("::1"), 0), ec);
    if (ec) GTEST_SKIP() << "no IPv6 loopback: " << ec.message();
  }
  start(echo, {}, "::1");
  std::string out = exchange("GET /six HTTP/1.1\r\nConnection: close\r\n\r\n", "::1");
  EXPECT_NE(out.find("GET /six 0"), std::string::npos) << out;
}

TEST(ListenerCreateTest, BadAddressIsAnError) {
  asio::io_context io;
  auto r = HttpListener::create(io, "not-an-ip", 0, echo);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not-an-ip"), std::string::npos);
}

TEST_F(ListenerTest, CallbackEndToEnd) {
  core::ManualScheduler scheduler;
  PendingSource source;
  core::Metrics core_metrics;
  ServerMetrics metrics(core_metrics);
  core::WatchHub hub(scheduler, source, core::WatchHubConfig{}, &core_metrics);
  core::Scope scope;
  scope.id = "1";
  hub.watch(scope, 42);
  CallbackSecret secret(std::string(32, 's'));
  start(make_http_routes(RouteTargets{&hub, &metrics, true, &secret}));
  std::string body = R"({"job_instance_id": 42, "status": 3, "step_instance_list": []})";
  std::string out = exchange("POST " + secret.mint(std::string(kCallbackPath)) +
                             " HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
                             "Connection: close\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_NE(out.find("HTTP/1.1 200"), std::string::npos) << out;
  out = exchange("GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << out;
  EXPECT_NE(out.find("jobgw_callbacks_total{outcome=\"accepted\"} 1"), std::string::npos) << out;
  listener_->stop();
  hub.shutdown(core::Error::internal("test over"));
}

}  // namespace
}  // namespace jobgw::server
