// HttpListener answering later and streaming: async responders used from other threads, chunked
// streams read back as Server-Sent Events, peers that go away mid-answer, keep-alive and
// pipelining around a stream, stop(), dropped responders, HTTP/1.0 and HTTPS.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/http_listener.h"
#include "server/http_tls.h"
#include "tests/support/http_client.h"
#include "tests/support/https_client.h"
#include "tests/support/sse_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ca.h"
#include "tests/support/wait.h"

namespace jobgw::server {
namespace {

using namespace std::chrono_literals;
using testing::SseClient;
using testing::wait_until;
namespace asio = boost::asio;
namespace beast = boost::beast;

constexpr auto kWait = 10s;

// Writes one piece and waits for its done(ok); nullopt when done never came.
std::optional<bool> write_and_wait(HttpResponder& responder, std::string data) {
  auto promise = std::make_shared<std::promise<bool>>();
  auto future = promise->get_future();
  responder.write(std::move(data), [promise](bool ok) { promise->set_value(ok); });
  if (future.wait_for(kWait) != std::future_status::ready) return std::nullopt;
  return future.get();
}

// A plain socket speaking whatever bytes a test gives it, for keep-alive, pipelining and HTTP/1.0.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConnection() { close(); }

  bool connected() const { return connected_; }

  bool send(const std::string& data) {
    for (std::size_t sent = 0; sent < data.size();) {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads until everything received so far contains `text`.
  bool read_until(const std::string& text, std::chrono::milliseconds timeout = kWait) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(text) == std::string::npos) {
      if (!read_some(deadline)) return false;
    }
    return true;
  }

  // Reads until the server closes the connection.
  bool wait_closed(std::chrono::milliseconds timeout = kWait) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (read_some(deadline)) {
    }
    return peer_closed_;
  }

  const std::string& received() const { return received_; }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  bool read_some(std::chrono::steady_clock::time_point deadline) {
    if (fd_ < 0 || peer_closed_) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<long long>(0, left.count()))) <= 0) return false;
    char buf[16 * 1024];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      peer_closed_ = true;
      return false;
    }
    received_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool peer_closed_ = false;
  std::string received_;
};

// The same over TLS (Beast on a private io_context), trusting only the test CA.
class TlsConnection {
 public:
  TlsConnection(int port, const std::string& ca_file) {
    beast::error_code ec;
    context_.load_verify_file(ca_file, ec);
    if (ec) {
      error_ = "ca: " + ec.message();
      return;
    }
    context_.set_verify_mode(asio::ssl::verify_peer);
    stream_.set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
    asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"),
                                     static_cast<unsigned short>(port));
    ec = run(kWait, [&](auto h) { beast::get_lowest_layer(stream_).async_connect(endpoint, h); });
    if (!ec) {
      ec = run(kWait, [&](auto h) { stream_.async_handshake(asio::ssl::stream_base::client, h); });
    }
    if (ec) error_ = "connect: " + ec.message();
  }

  const std::string& error() const { return error_; }

  bool send(const std::string& data) {
    return !run(kWait, [&](auto h) { asio::async_write(stream_, asio::buffer(data), h); });
  }

  bool read_until(const std::string& text, std::chrono::milliseconds timeout = kWait) {
    while (received_.find(text) == std::string::npos) {
      if (!read_some(timeout)) return false;
    }
    return true;
  }

  bool wait_closed(std::chrono::milliseconds timeout = kWait) {
    while (read_some(timeout)) {
    }
    return peer_closed_;
  }

  const std::string& received() const { return received_; }

  void close() {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

 private:
  template <typename Start>
  beast::error_code run(std::chrono::milliseconds timeout, Start&& start) {
    beast::get_lowest_layer(stream_).expires_after(timeout);
    beast::error_code result = asio::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    io_.restart();
    io_.run();
    return result;
  }

  bool read_some(std::chrono::milliseconds timeout) {
    if (peer_closed_) return false;
    char buf[16 * 1024];
    std::size_t got = 0;
    auto ec = run(timeout, [&](auto h) {
      stream_.async_read_some(asio::buffer(buf),
                              [h, &got](beast::error_code e, std::size_t n) mutable {
                                got = n;
                                h(e);
                              });
    });
    received_.append(buf, got);
    if (ec && ec != beast::error::timeout) peer_closed_ = true;
    return !ec;
  }

  asio::io_context io_;
  asio::ssl::context context_{asio::ssl::context::tls_client};
  beast::ssl_stream<beast::tcp_stream> stream_{io_, context_};
  std::string error_;
  std::string received_;
  bool peer_closed_ = false;
};

// A request the handler kept, with its responder.
struct Held {
  HttpListenerRequest request;
  std::shared_ptr<HttpResponder> responder;
};

// A counter bumped from io threads.
struct Count {
  std::atomic<int> n{0};
  std::function<void()> bump() {
    return [this] { ++n; };
  }
};

class HttpListenerStreamTest : public ::testing::Test {
 protected:
  ~HttpListenerStreamTest() override {
    if (listener_) listener_->stop();
    {
      std::lock_guard<std::mutex> lock(mu_);
      held_.clear();
    }
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  // Serves with `route`; a route that keeps a request calls hold().
  void start(AsyncHandler route, HttpListenerOptions options = {}) {
    auto created = HttpListener::create(io_, "127.0.0.1", 0, std::move(route), std::move(options));
    ASSERT_TRUE(created.ok()) << created.error().message;
    listener_ = std::move(created.value());
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  void hold(const HttpListenerRequest& request, std::shared_ptr<HttpResponder> responder) {
    std::lock_guard<std::mutex> lock(mu_);
    held_.push_back(Held{request, std::move(responder)});
  }

  // The i-th kept request, once it came.
  std::optional<Held> held(std::size_t i) {
    bool came = wait_until(
        [&] {
          std::lock_guard<std::mutex> lock(mu_);
          return held_.size() > i;
        },
        kWait);
    if (!came) return std::nullopt;
    std::lock_guard<std::mutex> lock(mu_);
    return held_[i];
  }

  std::size_t held_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }

  // Lets go of every kept responder.
  void drop_held() {
    std::lock_guard<std::mutex> lock(mu_);
    held_.clear();
  }

  int port() const { return listener_->port(); }

  // "/plain" answers at once; anything else starts an event stream, counts its closes and is
  // kept.
  AsyncHandler streaming_route(Count* closes) {
    return [this, closes](const HttpListenerRequest& req, std::shared_ptr<HttpResponder> r) {
      if (req.path == "/plain") {
        return r->respond(HttpListenerResponse{200, "text/plain", {}, "plain " + req.query});
      }
      r->start_stream(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
      r->on_close(closes->bump());
      hold(req, std::move(r));
    };
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::vector<std::thread> threads_;
  std::unique_ptr<HttpListener> listener_;
  std::mutex mu_;
  std::vector<Held> held_;
};

TEST_F(HttpListenerStreamTest, AnswersLaterFromAnotherThreadWithTheRequestHeadersAndQuery) {
  start([this](const HttpListenerRequest& req, std::shared_ptr<HttpResponder> r) {
    hold(req, std::move(r));
  });
  auto answer = std::async(std::launch::async, [this] {
    return testing::http_get(port(), "/later?job=7&x=%20", {{"X-Trace", "abc"}});
  });
  auto kept = held(0);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->request.path, "/later");
  EXPECT_EQ(kept->request.query, "job=7&x=%20");
  EXPECT_EQ(kept->request.header("x-trace"), "abc");
  EXPECT_EQ(kept->request.header("X-TRACE"), "abc");
  EXPECT_EQ(kept->request.header("absent"), "");
  bool lower_cased = true;
  for (const auto& [name, value] : kept->request.headers) {
    for (char c : name) lower_cased &= !(c >= 'A' && c <= 'Z');
  }
  EXPECT_TRUE(lower_cased);
  EXPECT_FALSE(kept->responder->closed());
  // Nothing is answered until the responder is used.
  EXPECT_EQ(answer.wait_for(100ms), std::future_status::timeout);
  std::thread([r = kept->responder] {
    r->respond(HttpListenerResponse{201, "application/json", {{"X-Answer", "yes"}}, "{\"ok\":1}"});
  }).join();
  auto res = answer.get();
  ASSERT_EQ(res.status, 201) << res.error;
  EXPECT_EQ(res.body, "{\"ok\":1}");
  EXPECT_EQ(res.header("x-answer"), "yes");
  EXPECT_EQ(res.header("content-type"), "application/json");
  EXPECT_TRUE(wait_until([&] { return kept->responder->closed(); }, kWait));
}

TEST_F(HttpListenerStreamTest, StreamedPiecesArriveAsEventsWhateverTheChunking) {
  Count closes;
  start(streaming_route(&closes));
  SseClient client(port(), "/events");
  ASSERT_EQ(client.status(), 200) << client.error();
  EXPECT_EQ(client.header("content-type"), "text/event-stream");
  EXPECT_EQ(client.header("transfer-encoding"), "chunked");
  EXPECT_EQ(client.header("cache-control"), "no-cache");
  auto kept = held(0);
  ASSERT_TRUE(kept);

  constexpr int kEvents = 40;
  std::string text;
  for (int i = 0; i < kEvents; ++i) {
    text += "id: " + std::to_string(i) + "\nevent: tick\ndata: line " + std::to_string(i) +
            "\ndata: second\n\n";
    if (i == kEvents / 2) text += ": heartbeat\n\n";
  }
  // Pieces of a prime size cut events, lines and line ends apart; an empty piece sends nothing.
  auto producer = std::async(std::launch::async, [&] {
    for (std::size_t at = 0; at < text.size(); at += 7) {
      if (write_and_wait(*kept->responder, text.substr(at, 7)) != true) return false;
      if (at == 70 && write_and_wait(*kept->responder, "") != true) return false;
    }
    kept->responder->finish();
    return true;
  });
  for (int i = 0; i < kEvents; ++i) {
    auto event = client.next();
    ASSERT_TRUE(event) << "event " << i << ": " << client.error();
    EXPECT_EQ(event->id, std::to_string(i));
    EXPECT_EQ(event->event, "tick");
    EXPECT_EQ(event->data, "line " + std::to_string(i) + "\nsecond");
  }
  EXPECT_TRUE(producer.get());
  EXPECT_FALSE(client.next());
  EXPECT_TRUE(client.ended());
  EXPECT_FALSE(client.timed_out());
  EXPECT_EQ(client.error(), "");
  EXPECT_EQ(client.comments(), 1u);
  // Once finished, the responder takes no more writes and on_close never runs.
  EXPECT_EQ(write_and_wait(*kept->responder, "late"), false);
  EXPECT_TRUE(kept->responder->closed());
  EXPECT_EQ(closes.n.load(), 0);
}

TEST_F(HttpListenerStreamTest, SseClientReadsEveryLineFormOfTheSpec) {
  Count closes;
  start(streaming_route(&closes));
  SseClient client(port(), "/events");
  ASSERT_EQ(client.status(), 200) << client.error();
  auto kept = held(0);
  ASSERT_TRUE(kept);
  // A CRLF split across two chunks, CR alone, no space after the colon, an id that sticks, an
  // empty id that clears it, an event without data (not dispatched) and one never terminated.
  EXPECT_EQ(write_and_wait(*kept->responder, "data:no space\r"), true);
  EXPECT_EQ(write_and_wait(*kept->responder,
                           "\n\r\ndata: a\rdata: b\r\rid: 7\ndata: first\ndata:\ndata: third\n\n"
                           "event: x\n: comment\ndata: y\n\ndata: id kept\n\nid\ndata: cleared\n\n"
                           "id: only\n\nretry: 10\nunknown: z\ndata: unterminated"),
            true);
  kept->responder->finish();
  struct Want {
    const char* id;
    const char* event;
    const char* data;
  };
  for (const Want& want :
       {Want{"", "", "no space"}, Want{"", "", "a\nb"}, Want{"7", "", "first\n\nthird"},
        Want{"7", "x", "y"}, Want{"7", "", "id kept"}, Want{"", "", "cleared"}}) {
    auto event = client.next();
    ASSERT_TRUE(event) << want.data << ": " << client.error();
    EXPECT_EQ(event->id, want.id);
    EXPECT_EQ(event->event, want.event);
    EXPECT_EQ(event->data, want.data);
  }
  EXPECT_FALSE(client.next());
  EXPECT_TRUE(client.ended());
  EXPECT_EQ(client.error(), "");
  EXPECT_EQ(client.comments(), 1u);
}

TEST_F(HttpListenerStreamTest, ClientGoingAwayMidStreamRunsOnCloseAndFailsLaterWrites) {
  Count closes;
  start(streaming_route(&closes));
  SseClient client(port(), "/events");
  ASSERT_EQ(client.status(), 200) << client.error();
  auto kept = held(0);
  ASSERT_TRUE(kept);
  EXPECT_EQ(write_and_wait(*kept->responder, "data: one\n\n"), true);
  auto event = client.next();
  ASSERT_TRUE(event) << client.error();
  EXPECT_EQ(event->data, "one");

  // Nothing is being written: the pending read alone notices the peer leaving.
  client.close();
  EXPECT_TRUE(wait_until([&] { return closes.n.load() == 1; }, kWait));
  EXPECT_TRUE(kept->responder->closed());
  EXPECT_EQ(write_and_wait(*kept->responder, "data: two\n\n"), false);
  kept->responder->finish();
  EXPECT_EQ(write_and_wait(*kept->responder, "data: three\n\n"), false);
  EXPECT_EQ(closes.n.load(), 1);
}

TEST_F(HttpListenerStreamTest, PeerLeavingBeforeTheAnswerRunsOnCloseEvenWhenSetLate) {
  Count early;
  start([this, &early](const HttpListenerRequest& req, std::shared_ptr<HttpResponder> r) {
    if (req.path == "/early") r->on_close(early.bump());
    hold(req, std::move(r));
  });
  RawConnection first(port());
  ASSERT_TRUE(first.send("GET /early HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto kept = held(0);
  ASSERT_TRUE(kept);
  first.close();
  EXPECT_TRUE(wait_until([&] { return early.n.load() == 1; }, kWait));
  EXPECT_TRUE(kept->responder->closed());
  // Answering a connection that is gone does nothing.
  kept->responder->respond(HttpListenerResponse{});

  RawConnection second(port());
  ASSERT_TRUE(second.send("GET /late HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto late = held(1);
  ASSERT_TRUE(late);
  second.close();
  ASSERT_TRUE(wait_until([&] { return late->responder->closed(); }, kWait));
  Count after;
  late->responder->on_close(after.bump());
  EXPECT_TRUE(wait_until([&] { return after.n.load() == 1; }, kWait));
  EXPECT_EQ(early.n.load(), 1);
}

TEST_F(HttpListenerStreamTest, FinishedStreamKeepsTheConnectionForTheNextRequest) {
  Count closes;
  start([&closes](const HttpListenerRequest& req, std::shared_ptr<HttpResponder> r) {
    if (req.path == "/plain") {
      return r->respond(HttpListenerResponse{200, "text/plain", {}, "plain " + req.query});
    }
    r->start_stream(200, "text/event-stream", {});
    r->on_close(closes.bump());
    r->write("data: 1\n\n", nullptr);
    r->finish();
  });
  RawConnection conn(port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(conn.read_until("\r\n0\r\n\r\n")) << conn.received();
  EXPECT_NE(conn.received().find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(conn.received().find("\r\n\r\n9\r\ndata: 1\n\n\r\n0\r\n\r\n"), std::string::npos)
      << conn.received();
  ASSERT_TRUE(conn.send("GET /plain?second HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(conn.read_until("plain second")) << conn.received();
  ASSERT_TRUE(conn.send("GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_TRUE(conn.wait_closed());
  const std::string& all = conn.received();
  EXPECT_EQ(all.substr(all.size() - 5), "0\r\n\r\n");
  EXPECT_EQ(closes.n.load(), 0);
}

TEST_F(HttpListenerStreamTest, RequestPipelinedDuringAStreamIsServedAfterIt) {
  Count closes;
  start(streaming_route(&closes));
  RawConnection conn(port());
  ASSERT_TRUE(conn.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(conn.read_until("\r\n\r\n"));
  auto kept = held(0);
  ASSERT_TRUE(kept);
  ASSERT_TRUE(conn.send("GET /plain?after HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(write_and_wait(*kept->responder, "data: s\n\n"), true);
  ASSERT_TRUE(conn.read_until("data: s\n\n"));
  EXPECT_FALSE(kept->responder->closed());
  EXPECT_EQ(conn.received().find("plain after"), std::string::npos);
  kept->responder->finish();
  ASSERT_TRUE(conn.read_until("plain after")) << conn.received();
  EXPECT_LT(conn.received().find("\r\n0\r\n\r\n"), conn.received().find("HTTP/1.1 200", 10));
  EXPECT_EQ(closes.n.load(), 0);
}

TEST_F(HttpListenerStreamTest, Http10StreamIsUnframedAndClosesAtTheEnd) {
  start([](const HttpListenerRequest&, std::shared_ptr<HttpResponder> r) {
    r->start_stream(200, "text/event-stream", {});
    r->write("data: a\n\n", nullptr);
    r->write("data: b\n\n", nullptr);
    r->finish();
  });
  RawConnection conn(port());
  ASSERT_TRUE(conn.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  ASSERT_TRUE(conn.wait_closed());
  const std::string& all = conn.received();
  EXPECT_EQ(all.rfind("HTTP/1.0 200", 0), 0u) << all;
  EXPECT_EQ(all.find("Transfer-Encoding"), std::string::npos) << all;
  auto body = all.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  EXPECT_EQ(all.substr(body + 4), "data: a\n\ndata: b\n\n");
}

TEST_F(HttpListenerStreamTest, StopClosesOpenStreamsAndIdleConnections) {
  Count closes;
  start(streaming_route(&closes));
  SseClient client(port(), "/events");
  ASSERT_EQ(client.status(), 200) << client.error();
  auto kept = held(0);
  ASSERT_TRUE(kept);
  EXPECT_EQ(write_and_wait(*kept->responder, "data: before\n\n"), true);
  ASSERT_TRUE(client.next());
  RawConnection idle(port());
  ASSERT_TRUE(idle.send("GET /plain HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(idle.read_until("plain"));

  listener_->stop();
  EXPECT_TRUE(wait_until([&] { return closes.n.load() == 1; }, kWait));
  EXPECT_TRUE(kept->responder->closed());
  EXPECT_FALSE(client.next());
  EXPECT_TRUE(client.ended());
  EXPECT_FALSE(client.timed_out());
  // Cut off: no last chunk.
  EXPECT_NE(client.error(), "");
  EXPECT_TRUE(idle.wait_closed());
}

TEST_F(HttpListenerStreamTest, DroppedResponderAnswers500) {
  start([this](const HttpListenerRequest& req, std::shared_ptr<HttpResponder> r) {
    if (req.path == "/keep") hold(req, std::move(r));
  });
  auto now = testing::http_get(port(), "/drop");
  EXPECT_EQ(now.status, 500) << now.error;
  EXPECT_EQ(now.body, "internal error\n");

  auto later =
      std::async(std::launch::async, [this] { return testing::http_get(port(), "/keep"); });
  ASSERT_TRUE(held(0));
  std::thread([this] { drop_held(); }).join();
  auto res = later.get();
  EXPECT_EQ(res.status, 500) << res.error;
  EXPECT_EQ(res.body, "internal error\n");
}

TEST_F(HttpListenerStreamTest, DroppedStreamIsCutOffNotEnded) {
  Count closes;
  start(streaming_route(&closes));
  SseClient client(port(), "/events");
  ASSERT_EQ(client.status(), 200) << client.error();
  auto kept = held(0);
  ASSERT_TRUE(kept);
  EXPECT_EQ(write_and_wait(*kept->responder, "data: x\n\n"), true);
  ASSERT_TRUE(client.next());
  kept.reset();
  drop_held();
  EXPECT_TRUE(wait_until([&] { return closes.n.load() == 1; }, kWait));
  EXPECT_FALSE(client.next());
  EXPECT_TRUE(client.ended());
  EXPECT_FALSE(client.timed_out());
  EXPECT_NE(client.error(), "");
}

TEST_F(HttpListenerStreamTest, MisusedResponderFailsSafely) {
  start([this](const HttpListenerRequest& req, std::shared_ptr<HttpResponder> r) {
    if (req.path == "/throw-after-answer") {
      r->respond(HttpListenerResponse{200, "text/plain", {}, "answered"});
      throw std::runtime_error("after the answer");
    }
    if (req.path == "/bad-status") return r->respond(HttpListenerResponse{7, "text/plain", {}, ""});
    hold(req, std::move(r));
  });
  auto answered = testing::http_get(port(), "/throw-after-answer");
  EXPECT_EQ(answered.status, 200) << answered.error;
  EXPECT_EQ(answered.body, "answered");
  EXPECT_EQ(testing::http_get(port(), "/bad-status").status, 500);

  // The client waits for the status line, which comes with start_stream.
  auto connecting = std::async(std::launch::async,
                               [this] { return std::make_unique<SseClient>(port(), "/events"); });
  auto kept = held(0);
  ASSERT_TRUE(kept);
  // Before start_stream nothing can be written and finish means nothing.
  EXPECT_EQ(write_and_wait(*kept->responder, "data: early\n\n"), false);
  kept->responder->finish();
  kept->responder->start_stream(200, "text/event-stream", {});
  // A second answer is ignored.
  kept->responder->respond(HttpListenerResponse{});
  kept->responder->start_stream(500, "text/plain", {});
  EXPECT_EQ(write_and_wait(*kept->responder, "data: ok\n\n"), true);
  kept->responder->finish();
  auto client = connecting.get();
  ASSERT_EQ(client->status(), 200) << client->error();
  auto event = client->next();
  ASSERT_TRUE(event) << client->error();
  EXPECT_EQ(event->data, "ok");
  EXPECT_FALSE(client->next());
  EXPECT_EQ(client->error(), "");
}

TEST_F(HttpListenerStreamTest, SyncHandlersKeepTheirBehaviour) {
  auto created = HttpListener::create(
      io_, "127.0.0.1", 0,
      [](const HttpListenerRequest& req) -> HttpListenerResponse {
        if (req.path == "/throw") throw std::runtime_error("boom");
        return HttpListenerResponse{202,
                                    "text/plain",
                                    {{"X-Echo", req.header("x-in")}},
                                    req.method + " " + req.query + " " + req.body};
      },
      HttpListenerOptions{});
  ASSERT_TRUE(created.ok()) << created.error().message;
  listener_ = std::move(created.value());
  for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  auto ok = testing::http_post_json(port(), "/p?q=1", "{}", {{"X-In", "v"}});
  EXPECT_EQ(ok.status, 202) << ok.error;
  EXPECT_EQ(ok.body, "POST q=1 {}");
  EXPECT_EQ(ok.header("x-echo"), "v");
  auto thrown = testing::http_get(port(), "/throw");
  EXPECT_EQ(thrown.status, 500);
  EXPECT_EQ(thrown.body, "internal error\n");
  // Keep-alive between sync answers.
  RawConnection conn(port());
  ASSERT_TRUE(
      conn.send("GET /a?1 HTTP/1.1\r\nHost: x\r\n\r\nGET /b?2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(conn.read_until("GET 2 ")) << conn.received();
  EXPECT_NE(conn.received().find("GET 1 "), std::string::npos);
}

TEST_F(HttpListenerStreamTest, WriteTimingOutFailsAndRunsOnClose) {
  Count closes;
  HttpListenerOptions options;
  options.write_timeout = 200ms;
  start(streaming_route(&closes), options);
  // A client that never reads: socket buffers fill up and a write stops making progress.
  RawConnection conn(port());
  ASSERT_TRUE(conn.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto kept = held(0);
  ASSERT_TRUE(kept);
  std::string piece(1 << 20, 'x');
  std::optional<bool> ok;
  for (int i = 0; i < 256; ++i) {
    ok = write_and_wait(*kept->responder, piece);
    if (ok != true) break;
  }
  EXPECT_EQ(ok, false);
  EXPECT_TRUE(wait_until([&] { return closes.n.load() == 1; }, kWait));
  EXPECT_TRUE(kept->responder->closed());
}

TEST_F(HttpListenerStreamTest, OpenStreamOutlivesTheReadTimeoutWhichAppliesAgainAfterIt) {
  Count closes;
  HttpListenerOptions options;
  options.read_timeout = 100ms;
  start(streaming_route(&closes), options);
  RawConnection conn(port());
  ASSERT_TRUE(conn.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(conn.read_until("\r\n\r\n"));
  auto kept = held(0);
  ASSERT_TRUE(kept);
  // Several read timeouts pass on an idle stream without closing it.
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(kept->responder->closed());
  EXPECT_EQ(write_and_wait(*kept->responder, "data: still here\n\n"), true);
  kept->responder->finish();
  ASSERT_TRUE(conn.read_until("data: still here\n\n\r\n0\r\n\r\n")) << conn.received();
  // The kept-alive connection then waits for a request again, and times out.
  EXPECT_TRUE(conn.wait_closed());
  EXPECT_EQ(closes.n.load(), 0);
}

TEST_F(HttpListenerStreamTest, OwnAnswersTakeTheShapeTheFaceGives) {
  HttpListenerOptions options;
  options.body_limit = 16;
  options.own_answer = [](int status, std::string_view message) -> HttpListenerResponse {
    if (status == 400) throw std::runtime_error("no shape for 400");
    return HttpListenerResponse{
        0,
        "application/json",
        {},
        "{\"status\":" + std::to_string(status) + ",\"message\":\"" + std::string(message) + "\"}"};
  };
  start([](const HttpListenerRequest&, std::shared_ptr<HttpResponder>) {}, options);
  auto dropped = testing::http_get(port(), "/x");
  EXPECT_EQ(dropped.status, 500);
  EXPECT_EQ(dropped.header("content-type"), "application/json");
  EXPECT_EQ(dropped.body, "{\"status\":500,\"message\":\"internal error\"}");

  RawConnection large(port());
  ASSERT_TRUE(large.send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n"));
  ASSERT_TRUE(large.wait_closed());
  EXPECT_EQ(large.received().rfind("HTTP/1.1 413 ", 0), 0u) << large.received();
  EXPECT_NE(
      large.received().find("\r\n\r\n{\"status\":413,\"message\":\"request body too large\"}"),
      std::string::npos)
      << large.received();

  // A shape that throws leaves the plain answer.
  RawConnection malformed(port());
  ASSERT_TRUE(malformed.send("NOT HTTP AT ALL\r\n\r\n"));
  ASSERT_TRUE(malformed.wait_closed());
  EXPECT_EQ(malformed.received().rfind("HTTP/1.1 400 ", 0), 0u) << malformed.received();
  EXPECT_NE(malformed.received().find("\r\n\r\nmalformed HTTP request\n"), std::string::npos)
      << malformed.received();
}

class HttpsStreamTest : public HttpListenerStreamTest {
 protected:
  HttpsStreamTest() : dir_("jobgw-https-stream"), ca_(dir_.path(), "main") {}

  HttpListenerOptions tls_options() {
    auto cert = ca_.server_cert("server");
    TlsFiles files;
    files.cert_file = cert.cert_file;
    files.key_file = cert.key_file;
    files.cert_key = "http.tls_cert_file";
    files.key_key = "http.tls_key_file";
    auto tls = HttpTlsContext::load(files);
    EXPECT_TRUE(tls.ok()) << tls.error().message;
    HttpListenerOptions options;
    if (tls.ok()) options.tls = tls.value();
    return options;
  }

  testing::TempDir dir_;
  testing::TestCa ca_;
};

TEST_F(HttpsStreamTest, StreamsOverTls) {
  Count closes;
  start(
      [this, &closes](const HttpListenerRequest& req, std::shared_ptr<HttpResponder> r) {
        if (req.path == "/plain") {
          return r->respond(HttpListenerResponse{200, "text/plain", {}, "plain " + req.query});
        }
        r->start_stream(200, "text/event-stream", {});
        r->on_close(closes.bump());
        if (req.path == "/all") {
          r->write("data: 1\n\n", nullptr);
          r->write("data: 2\n\n", nullptr);
          return r->finish();
        }
        hold(req, std::move(r));
      },
      tls_options());

  // A whole stream, de-chunked by an ordinary HTTPS client.
  auto all = testing::https_request("GET", port(), "/all", ca_.ca_file());
  ASSERT_EQ(all.status, 200) << all.error;
  EXPECT_EQ(all.body, "data: 1\n\ndata: 2\n\n");

  // Piece by piece, then the next request on the same connection.
  TlsConnection conn(port(), ca_.ca_file());
  ASSERT_EQ(conn.error(), "");
  ASSERT_TRUE(conn.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto kept = held(0);
  ASSERT_TRUE(kept);
  EXPECT_EQ(write_and_wait(*kept->responder, "data: first\n\n"), true);
  ASSERT_TRUE(conn.read_until("data: first\n\n")) << conn.received();
  EXPECT_EQ(conn.received().find("data: second"), std::string::npos);
  EXPECT_EQ(write_and_wait(*kept->responder, "data: second\n\n"), true);
  kept->responder->finish();
  ASSERT_TRUE(conn.read_until("data: second\n\n\r\n0\r\n\r\n")) << conn.received();
  ASSERT_TRUE(conn.send("GET /plain?again HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(conn.read_until("plain again")) << conn.received();
  EXPECT_EQ(closes.n.load(), 0);

  // A TLS peer that goes away mid-stream is noticed too.
  TlsConnection leaving(port(), ca_.ca_file());
  ASSERT_EQ(leaving.error(), "");
  ASSERT_TRUE(leaving.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto second = held(1);
  ASSERT_TRUE(second);
  ASSERT_TRUE(leaving.read_until("\r\n\r\n"));
  leaving.close();
  EXPECT_TRUE(wait_until([&] { return closes.n.load() == 1; }, kWait));
  EXPECT_EQ(write_and_wait(*second->responder, "data: gone\n\n"), false);
}

}  // namespace
}  // namespace jobgw::server
