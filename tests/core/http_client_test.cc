#include "core/http/http_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <future>
#include <mutex>
#include <thread>

#include "tests/support/fake_http_server.h"
#include "tests/support/wait.h"

namespace jobgw::core {
namespace {

using jobgw::testing::FakeHttpServer;
using jobgw::testing::FakeResponse;
using jobgw::testing::FakeServerOptions;
using jobgw::testing::RecordedRequest;
using std::chrono::milliseconds;
namespace net = boost::asio;

constexpr auto kWait = std::chrono::seconds(30);

HttpRequest get(std::string target = "/api/v3/get_job_instance_status/?job_instance_id=1") {
  return HttpRequest{"get_job_instance_status", "GET", std::move(target), {}, {}};
}

HttpRequest post(std::string body = R"({"bk_scope_id":"1"})") {
  return HttpRequest{
      "fast_execute_script", "POST", "/api/v3/fast_execute_script/", {}, std::move(body)};
}

CallOptions reads() { return CallOptions{true, std::nullopt}; }
CallOptions writes() { return CallOptions{false, std::nullopt}; }

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  void TearDown() override {
    work_.reset();
    for (auto& t : threads_) t.join();
  }

  // Tiny backoff so retries do not slow the suite; jitter off so delays are predictable.
  HttpClientConfig config_for(const std::string& base_url) {
    HttpClientConfig config;
    config.base_url = base_url;
    config.backoff = {milliseconds(1), milliseconds(5), 2.0, 0.0};
    config.on_attempt = [this](const AttemptRecord& r) {
      std::lock_guard<std::mutex> lock(mutex_);
      records_.push_back(r);
    };
    return config;
  }

  std::unique_ptr<HttpClient> make_client(HttpClientConfig config) {
    auto client = HttpClient::create(io_, std::move(config));
    EXPECT_TRUE(client.ok()) << (client.ok() ? "" : client.error().message);
    return client.ok() ? std::move(client.value()) : nullptr;
  }

  static Result<HttpResponse> call(HttpClient& client, HttpRequest request, CallOptions options) {
    auto promise = std::make_shared<std::promise<Result<HttpResponse>>>();
    auto future = promise->get_future();
    client.send(std::move(request), options,
                [promise](Result<HttpResponse> r) { promise->set_value(std::move(r)); });
    if (future.wait_for(kWait) != std::future_status::ready) {
      ADD_FAILURE() << "request did not complete";
      return Error::internal("test: no completion");
    }
    return future.get();
  }

  std::vector<AttemptRecord> records() {
    std::lock_guard<std::mutex> lock(mutex_);
    return records_;
  }

  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> work_{io_.get_executor()};
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::vector<AttemptRecord> records_;
};

// Completes many sends concurrently and collects the results in send order.
std::vector<Result<HttpResponse>> call_all(HttpClient& client, std::vector<HttpRequest> requests,
                                           CallOptions options) {
  std::vector<std::future<Result<HttpResponse>>> futures;
  for (auto& request : requests) {
    auto promise = std::make_shared<std::promise<Result<HttpResponse>>>();
    futures.push_back(promise->get_future());
    client.send(std::move(request), options,
                [promise](Result<HttpResponse> r) { promise->set_value(std::move(r)); });
  }
  std::vector<Result<HttpResponse>> results;
  for (auto& f : futures) {
    if (f.wait_for(kWait) != std::future_status::ready) {
      ADD_FAILURE() << "request did not complete";
      results.push_back(Error::internal("test: no completion"));
    } else {
      results.push_back(f.get());
    }
  }
  return results;
}

TEST_F(HttpClientTest, KeepAliveReusesOneConnection) {
  FakeHttpServer server;
  auto client = make_client(config_for(server.base_url()));
  for (int i = 0; i < 10; ++i) {
    auto r = call(*client, get(), reads());
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, R"({"result":true})");
  }
  EXPECT_EQ(server.connections_accepted(), 1u);
  EXPECT_EQ(server.requests_received(), 10u);
  const auto stats = client->stats();
  EXPECT_EQ(stats.connections_opened, 1u);
  EXPECT_EQ(stats.connections_reused, 9u);
  EXPECT_EQ(stats.attempts, 10u);
  EXPECT_EQ(stats.retries, 0u);
  auto recs = records();
  ASSERT_EQ(recs.size(), 10u);
  EXPECT_FALSE(recs[0].reused_connection);
  EXPECT_TRUE(recs[9].reused_connection);
  EXPECT_EQ(recs[9].http_status, 200);
  EXPECT_EQ(recs[9].label, "get_job_instance_status");
}

TEST_F(HttpClientTest, SendsDefaultHeadersUnderTheBasePath) {
  FakeHttpServer server;
  auto client = make_client(config_for(server.base_url() + "/prefix/"));
  HttpRequest request = post(R"({"a":1})");
  request.headers.emplace_back("X-Bkapi-Authorization", R"({"bk_app_code":"x"})");
  auto r = call(*client, request, writes());
  ASSERT_TRUE(r.ok()) << r.error().describe();
  auto g = call(*client, get("/x?a=%20"), reads());
  ASSERT_TRUE(g.ok()) << g.error().describe();

  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/prefix/api/v3/fast_execute_script/");
  EXPECT_EQ(seen[0].body, R"({"a":1})");
  EXPECT_EQ(seen[0].header("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen[0].header("User-Agent"), "jobgw/0.1");
  EXPECT_EQ(seen[0].header("Content-Type"), "application/json");
  EXPECT_EQ(seen[0].header("Connection"), "keep-alive");
  EXPECT_EQ(seen[0].header("Content-Length"), "7");
  EXPECT_EQ(seen[0].header("X-Bkapi-Authorization"), R"({"bk_app_code":"x"})");
  EXPECT_EQ(seen[1].target, "/prefix/x?a=%20");
  EXPECT_EQ(seen[1].header("Content-Type"), std::nullopt);
}

TEST_F(HttpClientTest, ResponseCarriesStatusHeadersAndBodyOfAnyStatus) {
  FakeHttpServer server([](const RecordedRequest&) {
    FakeResponse r = FakeResponse::with_status(401, "<html>denied</html>");
    r.headers.emplace_back("X-Request-Id", "abc");
    return r;
  });
  auto client = make_client(config_for(server.base_url()));
  auto r = call(*client, get(), reads());
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->body, "<html>denied</html>");
  EXPECT_EQ(r->header("x-request-id"), "abc");
  EXPECT_EQ(server.requests_received(), 1u);
}

TEST_F(HttpClientTest, PoolBoundsConcurrentConnections) {
  FakeHttpServer server([](const RecordedRequest&) {
    FakeResponse r = FakeResponse::json("{}");
    r.delay = milliseconds(20);
    return r;
  });
  auto config = config_for(server.base_url());
  config.max_connections = 3;
  auto client = make_client(config);
  auto results = call_all(*client, std::vector<HttpRequest>(30, get()), reads());
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(server.requests_received(), 30u);
  EXPECT_LE(server.connections_accepted(), 3u);
  EXPECT_LE(server.max_concurrent_connections(), 3u);
  EXPECT_LE(client->stats().connections_opened, 3u);
  EXPECT_EQ(client->stats().retries, 0u);
}

TEST_F(HttpClientTest, QueueOverflowIsRejected) {
  FakeHttpServer server([](const RecordedRequest&) {
    FakeResponse r = FakeResponse::json("{}");
    r.delay = milliseconds(200);
    return r;
  });
  auto config = config_for(server.base_url());
  config.max_connections = 1;
  config.max_queued_requests = 2;
  auto client = make_client(config);
  auto results = call_all(*client, std::vector<HttpRequest>(5, get()), reads());
  int ok = 0;
  int rejected = 0;
  for (const auto& r : results) {
    if (r.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(r.error().kind, ErrorKind::kTransport);
      EXPECT_NE(r.error().transport_cause.find("queue full"), std::string::npos);
      ++rejected;
    }
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(rejected, 2);
  EXPECT_EQ(client->stats().queue_rejections, 2u);
  EXPECT_EQ(server.requests_received(), 3u);
}

TEST_F(HttpClientTest, ServerClosedIdleConnectionIsDetectedAndPostGoesOnAFreshOne) {
  FakeHttpServer server([](const RecordedRequest& req) {
    FakeResponse r = FakeResponse::json("{}");
    r.close_after_answer = req.method == "GET";
    return r;
  });
  auto client = make_client(config_for(server.base_url()));
  auto first = call(*client, get(), reads());
  ASSERT_TRUE(first.ok()) << first.error().describe();
  ASSERT_TRUE(FakeHttpServer::wait_until([&] { return server.connections_closed() == 1; }));
  ASSERT_TRUE(FakeHttpServer::wait_until([&] { return client->stats().idle_connections == 1; }));

  auto r = call(*client, post(), writes());
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server.count("POST"), 1u);
  EXPECT_EQ(server.connections_accepted(), 2u);
  const auto stats = client->stats();
  EXPECT_EQ(stats.stale_connections_discarded, 1u);
  EXPECT_EQ(stats.connections_opened, 2u);
  EXPECT_EQ(stats.retries, 0u);
}

TEST_F(HttpClientTest, ConnectionCloseFromServerIsHonoured) {
  FakeHttpServer server([](const RecordedRequest&) {
    FakeResponse r = FakeResponse::json("{}");
    r.close = true;
    return r;
  });
  auto client = make_client(config_for(server.base_url()));
  for (int i = 0; i < 3; ++i) {
    auto r = call(*client, post(), writes());
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->header("Connection"), "close");
  }
  EXPECT_EQ(server.count("POST"), 3u);
  EXPECT_EQ(server.connections_accepted(), 3u);
  const auto stats = client->stats();
  EXPECT_EQ(stats.connections_opened, 3u);
  EXPECT_EQ(stats.connections_reused, 0u);
  EXPECT_EQ(stats.stale_connections_discarded, 0u);
  EXPECT_EQ(stats.idle_connections, 0u);
}

TEST_F(HttpClientTest, IdleConnectionsAreClosedAfterIdleTimeout) {
  FakeHttpServer server;
  auto config = config_for(server.base_url());
  config.idle_timeout = milliseconds(20);
  auto client = make_client(config);
  auto r = call(*client, get(), reads());
  ASSERT_TRUE(r.ok()) << r.error().describe();
  ASSERT_TRUE(FakeHttpServer::wait_until([&] { return server.connections_closed() == 1; }));
  ASSERT_TRUE(FakeHttpServer::wait_until([&] { return client->stats().open_connections == 0; }));
  auto again = call(*client, get(), reads());
  ASSERT_TRUE(again.ok()) << again.error().describe();
  EXPECT_EQ(client->stats().stale_connections_discarded, 0u);
  EXPECT_EQ(client->stats().connections_opened, 2u);
}

TEST_F(HttpClientTest, RequestTimeoutIsKTimeout) {
  FakeHttpServer server([](const RecordedRequest&) {
    FakeResponse r = FakeResponse::json("{}");
    r.delay = std::chrono::seconds(5);
    return r;
  });
  auto config = config_for(server.base_url());
  config.request_timeout = milliseconds(150);
  auto client = make_client(config);
  auto r = call(*client, post(), writes());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTimeout);
  EXPECT_EQ(server.count("POST"), 1u);
  EXPECT_EQ(client->stats().retries, 0u);
}

TEST_F(HttpClientTest, OverallDeadlineCapsRetriesOfReads) {
  FakeHttpServer server([](const RecordedRequest&) {
    FakeResponse r = FakeResponse::json("{}");
    r.delay = std::chrono::seconds(5);
    return r;
  });
  auto config = config_for(server.base_url());
  config.request_timeout = milliseconds(100);
  config.max_attempts = 1000;
  auto client = make_client(config);
  CallOptions options = reads();
  options.deadline = std::chrono::steady_clock::now() + milliseconds(400);
  auto r = call(*client, get(), options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTimeout);
  // Per-attempt timeouts were retried, but the deadline, not max_attempts, ended it.
  EXPECT_GE(server.count("GET"), 2u);
  EXPECT_LT(server.count("GET"), 1000u);
  const auto recs = records();
  ASSERT_FALSE(recs.empty());
  EXPECT_FALSE(recs.back().next_retry_delay.has_value());
  for (const auto& rec : recs) EXPECT_EQ(rec.error, ErrorKind::kTimeout);
}

TEST_F(HttpClientTest, DeadlineAlsoBoundsTheWaitForAFreeConnection) {
  FakeHttpServer server([](const RecordedRequest&) {
    FakeResponse r = FakeResponse::json("{}");
    r.delay = milliseconds(1500);
    return r;
  });
  auto config = config_for(server.base_url());
  config.max_connections = 1;
  auto client = make_client(config);
  auto promise = std::make_shared<std::promise<Result<HttpResponse>>>();
  auto slow = promise->get_future();
  client->send(get(), reads(), [promise](Result<HttpResponse> r) { promise->set_value(r); });
  ASSERT_TRUE(FakeHttpServer::wait_until([&] { return server.requests_received() == 1; }));
  CallOptions options = writes();
  options.deadline = std::chrono::steady_clock::now() + milliseconds(100);
  auto r = call(*client, post(), options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTimeout);
  EXPECT_NE(r.error().transport_cause.find("free connection"), std::string::npos);
  EXPECT_EQ(server.count("POST"), 0u);
  ASSERT_EQ(slow.wait_for(kWait), std::future_status::ready);
  EXPECT_TRUE(slow.get().ok());
}

TEST_F(HttpClientTest, ExpiredDeadlineFailsWithoutSending) {
  FakeHttpServer server;
  auto client = make_client(config_for(server.base_url()));
  CallOptions options = reads();
  options.deadline = std::chrono::steady_clock::now() - milliseconds(1);
  auto r = call(*client, get(), options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTimeout);
  EXPECT_EQ(server.requests_received(), 0u);
}

TEST_F(HttpClientTest, GetIsRetriedOn502) {
  std::atomic<int> n{0};
  FakeHttpServer server([&](const RecordedRequest&) {
    return ++n == 1 ? FakeResponse::with_status(502, "<html>bad gateway</html>")
                    : FakeResponse::json(R"({"result":true})");
  });
  auto client = make_client(config_for(server.base_url()));
  auto r = call(*client, get(), reads());
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server.count("GET"), 2u);
  EXPECT_EQ(client->stats().retries, 1u);
  const auto recs = records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].http_status, 502);
  EXPECT_EQ(recs[0].attempt, 1);
  EXPECT_EQ(recs[0].next_retry_delay, milliseconds(1));  // backoff.initial, no jitter
  EXPECT_EQ(recs[1].attempt, 2);
  EXPECT_EQ(recs[1].http_status, 200);
  EXPECT_FALSE(recs[1].next_retry_delay.has_value());
}

TEST_F(HttpClientTest, RetryAfterOn429IsHonoured) {
  std::atomic<int> n{0};
  FakeHttpServer server([&](const RecordedRequest&) {
    if (++n == 1) {
      FakeResponse r = FakeResponse::with_status(429, R"({"message":"rate limited"})");
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    return FakeResponse::json("{}");
  });
  auto client = make_client(config_for(server.base_url()));
  auto r = call(*client, get(), reads());
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server.count("GET"), 2u);
  const auto recs = records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].http_status, 429);
  ASSERT_TRUE(recs[0].next_retry_delay.has_value());
  EXPECT_GE(*recs[0].next_retry_delay, milliseconds(1000));
}

TEST_F(HttpClientTest, RetryAfterIsCappedByMaxRetryAfter) {
  std::atomic<int> n{0};
  FakeHttpServer server([&](const RecordedRequest&) {
    if (++n == 1) {
      FakeResponse r = FakeResponse::with_status(503);
      r.headers.emplace_back("Retry-After", "3600");
      return r;
    }
    return FakeResponse::json("{}");
  });
  auto config = config_for(server.base_url());
  config.max_retry_after = milliseconds(10);
  auto client = make_client(config);
  auto r = call(*client, get(), reads());
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->status, 200);
  const auto recs = records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].next_retry_delay, milliseconds(10));
}

TEST_F(HttpClientTest, RetryAfterBeyondTheDeadlineReturnsTheAnswer) {
  FakeHttpServer server([](const RecordedRequest&) {
    FakeResponse r = FakeResponse::with_status(429, "slow down");
    r.headers.emplace_back("Retry-After", "20");
    return r;
  });
  auto client = make_client(config_for(server.base_url()));
  CallOptions options = reads();
  options.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  auto r = call(*client, get(), options);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->retry_after, milliseconds(20000));
  EXPECT_EQ(server.count("GET"), 1u);
}

TEST_F(HttpClientTest, Exhausted503ReturnsTheLastResponse) {
  std::atomic<int> n{0};
  FakeHttpServer server([&](const RecordedRequest&) {
    return FakeResponse::with_status(503, "down " + std::to_string(++n));
  });
  auto config = config_for(server.base_url());
  config.max_attempts = 4;
  auto client = make_client(config);
  auto r = call(*client, get(), reads());
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "down 4");
  EXPECT_EQ(server.count("GET"), 4u);
  const auto recs = records();
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_TRUE(recs[2].next_retry_delay.has_value());
  EXPECT_FALSE(recs[3].next_retry_delay.has_value());
  EXPECT_EQ(client->stats().retries, 3u);
}

TEST_F(HttpClientTest, PostIsNotRetriedOn502) {
  FakeHttpServer server([](const RecordedRequest&) { return FakeResponse::with_status(502); });
  auto client = make_client(config_for(server.base_url()));
  auto r = call(*client, post(), writes());
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(server.count("POST"), 1u);
  EXPECT_EQ(client->stats().retries, 0u);
}

TEST_F(HttpClientTest, PostIsNotResentAfterTheServerResetTheConnection) {
  FakeHttpServer server([](const RecordedRequest&) {
    FakeResponse r;
    r.reset = true;
    return r;
  });
  auto client = make_client(config_for(server.base_url()));
  auto r = call(*client, post(), writes());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTransport);
  EXPECT_FALSE(r.error().transport_cause.empty());
  EXPECT_EQ(server.count("POST"), 1u);
  EXPECT_EQ(client->stats().retries, 0u);
}

TEST_F(HttpClientTest, GetIsResentAfterTheServerResetTheConnection) {
  std::atomic<int> n{0};
  FakeHttpServer server([&](const RecordedRequest&) {
    FakeResponse r = FakeResponse::json("{}");
    r.reset = ++n == 1;
    return r;
  });
  auto client = make_client(config_for(server.base_url()));
  auto r = call(*client, get(), reads());
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(server.count("GET"), 2u);
  const auto recs = records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].error, ErrorKind::kTransport);
  EXPECT_EQ(recs[0].http_status, 0);
}

std::uint16_t closed_port() {
  net::io_context io;
  net::ip::tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();  // closed again when acceptor goes away
}

TEST_F(HttpClientTest, ConnectRefusedPostFailsAfterBoundedConnectAttempts) {
  auto config = config_for("http://127.0.0.1:" + std::to_string(closed_port()));
  config.max_attempts = 3;
  auto client = make_client(config);
  auto r = call(*client, post(), writes());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTransport);
  EXPECT_NE(r.error().transport_cause.find("refused"), std::string::npos)
      << r.error().transport_cause;
  const auto stats = client->stats();
  EXPECT_EQ(stats.connect_attempts, 3u);
  EXPECT_EQ(stats.connections_opened, 0u);
  EXPECT_EQ(stats.attempts, 0u);
  const auto recs = records();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_TRUE(recs[0].next_retry_delay.has_value());
  EXPECT_FALSE(recs[2].next_retry_delay.has_value());
}

TEST_F(HttpClientTest, TlsWithTheGeneratedCa) {
  FakeHttpServer server({}, FakeServerOptions{true});
  auto config = config_for(server.base_url());
  config.ca_file = server.ca_file();
  auto client = make_client(config);
  for (int i = 0; i < 3; ++i) {
    auto r = call(*client, post(), writes());
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(server.count("POST"), 3u);
  EXPECT_EQ(server.connections_accepted(), 1u);
  EXPECT_EQ(client->stats().connections_reused, 2u);
}

TEST_F(HttpClientTest, TlsWithoutTheCaFailsVerification) {
  FakeHttpServer server({}, FakeServerOptions{true});
  auto client = make_client(config_for(server.base_url()));
  auto r = call(*client, get(), reads());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTransport);
  EXPECT_NE(r.error().transport_cause.find("verif"), std::string::npos)
      << r.error().transport_cause;
  EXPECT_EQ(server.requests_received(), 0u);
  // A certificate that fails verification will fail again; even a read is not retried.
  EXPECT_EQ(client->stats().connect_attempts, 1u);
}

TEST_F(HttpClientTest, TlsRejectsACertificateForAnotherHost) {
  FakeHttpServer server({}, FakeServerOptions{true, {"job.example.invalid"}});
  auto config = config_for(server.base_url());
  config.ca_file = server.ca_file();
  auto client = make_client(config);
  auto r = call(*client, get(), reads());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTransport);
  EXPECT_NE(r.error().transport_cause.find("does not match host '127.0.0.1'"), std::string::npos)
      << r.error().transport_cause;
  EXPECT_EQ(server.requests_received(), 0u);
}

TEST_F(HttpClientTest, TlsInsecureSkipVerifyAcceptsAnyCertificate) {
  FakeHttpServer server({}, FakeServerOptions{true, {"job.example.invalid"}});
  auto config = config_for(server.base_url());
  config.insecure_skip_verify = true;
  auto client = make_client(config);
  auto r = call(*client, get(), reads());
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpClientTest, UnreadableCaFileIsAnInvalidArgument) {
  auto config = config_for("https://127.0.0.1:1");
  config.ca_file = "/nonexistent/ca.pem";
  auto client = HttpClient::create(io_, config);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().kind, ErrorKind::kInvalidArgument);
  auto bad_url = HttpClient::create(io_, config_for("ftp://x"));
  ASSERT_FALSE(bad_url.ok());
  EXPECT_EQ(bad_url.error().kind, ErrorKind::kInvalidArgument);
}

TEST_F(HttpClientTest, InvalidRequestsAreRejectedBeforeSending) {
  FakeHttpServer server;
  auto client = make_client(config_for(server.base_url()));
  HttpRequest bad_method = get();
  bad_method.method = "BREW";
  HttpRequest bad_target = get("api/v3/x");
  HttpRequest injected = get();
  injected.headers.emplace_back("X-Evil", "a\r\nGET /other HTTP/1.1");
  for (const auto& request : {bad_method, bad_target, injected}) {
    auto r = call(*client, request, reads());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalidArgument);
  }
  EXPECT_EQ(server.requests_received(), 0u);
}

TEST_F(HttpClientTest, ShutdownCancelsPendingRequests) {
  FakeHttpServer server([](const RecordedRequest&) {
    FakeResponse r = FakeResponse::json("{}");
    r.delay = std::chrono::seconds(20);
    return r;
  });
  auto config = config_for(server.base_url());
  config.max_connections = 1;
  auto client = make_client(config);
  std::vector<std::future<Result<HttpResponse>>> futures;
  std::atomic<int> completions{0};
  for (int i = 0; i < 3; ++i) {
    auto promise = std::make_shared<std::promise<Result<HttpResponse>>>();
    futures.push_back(promise->get_future());
    client->send(get(), reads(), [promise, &completions](Result<HttpResponse> r) {
      ++completions;
      promise->set_value(std::move(r));
    });
  }
  // One request in flight at the server, two waiting in the client's queue.
  ASSERT_TRUE(FakeHttpServer::wait_until([&] { return server.requests_received() == 1; }));
  ASSERT_TRUE(FakeHttpServer::wait_until([&] { return client->stats().queued_requests == 2; }));
  client->shutdown();
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
    auto r = f.get();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::kCancelled);
  }
  auto late = call(*client, get(), reads());
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().kind, ErrorKind::kCancelled);
  EXPECT_TRUE(FakeHttpServer::wait_until([&] { return client->stats().open_connections == 0; }));
  EXPECT_EQ(completions.load(), 3);
  EXPECT_EQ(server.requests_received(), 1u);
}

TEST_F(HttpClientTest, ShutdownCancelsARetryWaitingOnBackoff) {
  FakeHttpServer server([](const RecordedRequest&) {
    FakeResponse r = FakeResponse::with_status(503);
    r.headers.emplace_back("Retry-After", "30");
    return r;
  });
  auto client = make_client(config_for(server.base_url()));
  auto promise = std::make_shared<std::promise<Result<HttpResponse>>>();
  auto future = promise->get_future();
  client->send(get(), reads(), [promise](Result<HttpResponse> r) { promise->set_value(r); });
  ASSERT_TRUE(FakeHttpServer::wait_until([&] { return client->stats().retries == 1; }));
  client->shutdown();
  ASSERT_EQ(future.wait_for(kWait), std::future_status::ready);
  auto r = future.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kCancelled);
  EXPECT_EQ(server.count("GET"), 1u);
}

// The io_context here is only run by the test itself, so a completion can only happen inside
// run_one(): an inline call from send() would be seen.
TEST(HttpClientInlineTest, CompletionIsNeverInvokedInlineFromSend) {
  FakeHttpServer server;
  net::io_context io;
  HttpClientConfig config;
  config.base_url = server.base_url();
  auto client = std::make_unique<HttpClient>(io, config);

  int completed = 0;
  const auto count = [&completed](Result<HttpResponse>) { ++completed; };
  client->send(get(), reads(), count);
  HttpRequest invalid = get();
  invalid.method = "NOT A METHOD";
  client->send(invalid, reads(), count);
  EXPECT_EQ(completed, 0);
  for (int i = 0; i < 1000 && completed < 2; ++i) io.run_one_for(milliseconds(50));
  EXPECT_EQ(completed, 2);

  client->shutdown();
  client->send(get(), reads(), count);
  EXPECT_EQ(completed, 2);
  client.reset();
  io.run();  // shutdown cancelled every timer, so this drains and returns
  EXPECT_EQ(completed, 3);
}

TEST(ParseRetryAfterTest, DeltaSecondsAndHttpDates) {
  const auto now = std::chrono::system_clock::from_time_t(784111777);  // 06 Nov 1994 08:49:37
  EXPECT_EQ(parse_retry_after("120", now), milliseconds(120000));
  EXPECT_EQ(parse_retry_after(" 0 ", now), milliseconds(0));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), milliseconds(10000));
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", now), milliseconds(60000));
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:38 1994", now), milliseconds(1000));
  EXPECT_EQ(parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now), milliseconds(0));
  EXPECT_GT(parse_retry_after("99999999999999999999", now), milliseconds(0));
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("-5", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("1.5", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT trailing", now), std::nullopt);
}

TEST(HttpResponseTest, HeaderLookupIsCaseInsensitive) {
  HttpResponse r;
  r.headers = {{"Content-Type", "text/html"}, {"X-A", "1"}, {"x-a", "2"}};
  EXPECT_EQ(r.header("content-type"), "text/html");
  EXPECT_EQ(r.header("X-A"), "1");
  EXPECT_EQ(r.header("Missing"), std::nullopt);
}

// jobgw stops its io_context right after shutdown(), so the posted shutdown may never run and
// an exchange may still be waiting for JOB's answer. Destroying the io_context must then free
// the client, the call and its completion; a reference cycle through the connection's pending
// handler once leaked them all (LeakSanitizer in the service tests).
TEST(HttpClientTeardown, StoppedIoContextFreesAPendingCallAndItsCompletion) {
  FakeHttpServer server([](const RecordedRequest&) {
    FakeResponse r = FakeResponse::json("{}");
    r.delay = std::chrono::seconds(5);
    return r;
  });
  std::weak_ptr<int> completion_alive;
  {
    net::io_context io;
    auto work = net::make_work_guard(io);
    std::thread runner([&io] { io.run(); });
    HttpClientConfig config;
    config.base_url = server.base_url();
    auto client = HttpClient::create(io, config);
    ASSERT_TRUE(client.ok()) << client.error().message;
    auto sentinel = std::make_shared<int>(0);
    completion_alive = sentinel;
    client.value()->send(post(), writes(), [sentinel](Result<HttpResponse>) {});
    sentinel.reset();
    EXPECT_TRUE(jobgw::testing::wait_until([&] { return server.count("POST") == 1; },
                                           std::chrono::seconds(30)));
    io.stop();
    runner.join();
    client.value()->shutdown();
    client.value().reset();
    EXPECT_FALSE(completion_alive.expired()) << "the call is still pending in the io_context";
  }
  EXPECT_TRUE(completion_alive.expired());
}

}  // namespace
}  // namespace jobgw::core
