#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <thread>

#include "client/gateway_client.h"
#include "client/reconnect_backoff.h"
#include "tests/client/events.h"

namespace jobgw::client {
namespace {

using namespace std::chrono_literals;
using namespace jobgw::client::testing;

TEST(ReconnectBackoff, GrowsExponentiallyWithinJitterAndCaps) {
  BackoffPolicy p;
  p.initial = 100ms;
  p.max_delay = 1000ms;
  p.multiplier = 2;
  p.jitter = 0.5;
  p.max_attempts = 0;
  p.max_elapsed = 0ms;
  ReconnectBackoff b(p, nullptr, 42);
  std::vector<std::int64_t> caps = {100, 200, 400, 800, 1000, 1000};
  for (auto cap : caps) {
    auto d = b.next_delay();
    ASSERT_TRUE(d);
    EXPECT_LE(d->count(), cap);
    EXPECT_GE(d->count(), cap / 2);
  }
  b.reset();
  auto d = b.next_delay();
  ASSERT_TRUE(d);
  EXPECT_LE(d->count(), 100);
}

TEST(ReconnectBackoff, NoJitterIsExact) {
  BackoffPolicy p;
  p.initial = 50ms;
  p.jitter = 0;
  p.max_attempts = 3;
  ReconnectBackoff b(p, nullptr, 1);
  EXPECT_EQ(*b.next_delay(), 50ms);
  EXPECT_EQ(*b.next_delay(), 100ms);
  EXPECT_EQ(*b.next_delay(), 200ms);
  EXPECT_FALSE(b.next_delay());  // attempts used up
}

TEST(ReconnectBackoff, BoundedByElapsedTime) {
  BackoffPolicy p;
  p.initial = 400ms;
  p.jitter = 0;
  p.max_attempts = 0;
  p.max_elapsed = 1000ms;
  auto now = std::chrono::steady_clock::time_point{};
  ReconnectBackoff b(
      p, [&now] { return now; }, 1);
  EXPECT_EQ(*b.next_delay(), 400ms);
  now += 400ms;
  EXPECT_EQ(*b.next_delay(), 600ms);  // 800 ms capped to what is left of the second
  now += 600ms;
  EXPECT_FALSE(b.next_delay());
}

// A JobGateway whose WatchStatus follows a script: one entry per call, each a list of events to
// send and the status to end with.
class ScriptedGateway final : public v1::JobGateway::Service {
 public:
  struct Call {
    std::vector<v1::StatusEvent> events;
    grpc::Status end;
  };
  explicit ScriptedGateway(std::vector<Call> calls) : calls_(std::move(calls)) {}

  grpc::Status WatchStatus(grpc::ServerContext*, const v1::WatchStatusRequest* request,
                           grpc::ServerWriter<v1::StatusEvent>* writer) override {
    Call call;
    {
      std::lock_guard<std::mutex> lock(mu_);
      after_seqs_.push_back(request->after_seq());
      if (next_ >= calls_.size()) return grpc::Status(grpc::StatusCode::INTERNAL, "no more calls");
      call = calls_[next_++];
    }
    for (const auto& e : call.events) writer->Write(e);
    return call.end;
  }

  std::vector<std::uint64_t> after_seqs() {
    std::lock_guard<std::mutex> lock(mu_);
    return after_seqs_;
  }

 private:
  std::mutex mu_;
  std::vector<Call> calls_;
  std::size_t next_ = 0;
  std::vector<std::uint64_t> after_seqs_;
};

struct FakeServer {
  // `at_port` 0: any free port.
  explicit FakeServer(ScriptedGateway* service, int at_port = 0) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(at_port),
                             grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service);
    server = builder.BuildAndStart();
  }
  ~FakeServer() { server->Shutdown(std::chrono::system_clock::now() + 2s); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
  int port = 0;
  std::unique_ptr<grpc::Server> server;
};

const grpc::Status kUnavailable(grpc::StatusCode::UNAVAILABLE, "jobgw is shutting down");

struct Recorded {
  std::vector<std::chrono::milliseconds> sleeps;
  std::vector<v1::StatusEvent> events;
  std::vector<int> reconnected;  // on_reconnected's attempts, in order
};

WatchResult run_watch(const std::string& address, Recorded* rec, WatchOptions options = {}) {
  GatewayClient client(GatewayClient::insecure_channel(address), 10s);
  options.sleep = [rec](std::chrono::milliseconds d) { rec->sleeps.push_back(d); };
  options.on_reconnected = [rec](int attempts) { rec->reconnected.push_back(attempts); };
  options.backoff.initial = 100ms;
  options.backoff.jitter = 0;
  v1::Scope scope;
  scope.set_type("biz");
  scope.set_id("1");
  return client.watch(
      scope, 10001, 0, [rec](const v1::StatusEvent& e) { rec->events.push_back(e); }, options);
}

TEST(WatchReconnect, ResumesAfterLastSeqUntilFinished) {
  auto snap = running_job(1000);
  auto resumed = host_event(3, 102, 5, 9, 0, 1300);
  resumed.set_resumed(true);
  ScriptedGateway gw(
      {{{snapshot_event(1, snap, 1000), host_event(2, 101, 5, 9, 0, 1200)}, kUnavailable},
       {{}, kUnavailable},
       {{}, kUnavailable},
       {{resumed, finished_event(4, snap, 1400)}, grpc::Status::OK}});
  FakeServer server(&gw);
  Recorded rec;
  auto result = run_watch(server.address(), &rec);
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_TRUE(result.finished);
  EXPECT_EQ(result.reconnects, 3);
  EXPECT_EQ(result.last_seq, 4u);
  EXPECT_EQ(gw.after_seqs(), (std::vector<std::uint64_t>{0, 2, 2, 2}));
  // Consecutive failures back off: 100, 200, 400 ms.
  EXPECT_EQ(rec.sleeps, (std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms}));
  ASSERT_EQ(rec.events.size(), 4u);
  EXPECT_TRUE(rec.events[2].resumed());
  // Told once, when the stream that finally stayed up delivered, with the three attempts.
  EXPECT_EQ(rec.reconnected, std::vector<int>{3});
}

TEST(WatchReconnect, BackoffRestartsAfterAStreamThatDelivered) {
  auto snap = running_job(1000);
  ScriptedGateway gw({{{snapshot_event(1, snap, 1000)}, kUnavailable},
                      {{}, kUnavailable},
                      {{host_event(2, 101, 5, 9, 0, 1100)}, kUnavailable},
                      {{finished_event(3, snap, 1400)}, grpc::Status::OK}});
  FakeServer server(&gw);
  Recorded rec;
  auto result = run_watch(server.address(), &rec);
  EXPECT_TRUE(result.finished);
  EXPECT_EQ(rec.sleeps, (std::vector<std::chrono::milliseconds>{100ms, 200ms, 100ms}));
  EXPECT_EQ(gw.after_seqs(), (std::vector<std::uint64_t>{0, 1, 1, 2}));
  // Two outages, each told once its reopened stream delivered: after 2 attempts, then 1.
  EXPECT_EQ(rec.reconnected, (std::vector<int>{2, 1}));
}

TEST(WatchReconnect, NotToldReconnectedWithoutAReconnectOrWithoutAnEvent) {
  auto snap = running_job(1000);
  ScriptedGateway healthy(
      {{{snapshot_event(1, snap, 1000), finished_event(2, snap, 1100)}, grpc::Status::OK}});
  FakeServer server(&healthy);
  Recorded rec;
  EXPECT_TRUE(run_watch(server.address(), &rec).finished);
  EXPECT_TRUE(rec.reconnected.empty());

  ScriptedGateway silent({{{snapshot_event(1, snap, 1000)}, kUnavailable}, {{}, kUnavailable}});
  FakeServer second(&silent);
  Recorded none;
  WatchOptions o;
  o.backoff.max_attempts = 1;
  auto result = run_watch(second.address(), &none, o);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(none.reconnected.empty());  // the reopened stream never delivered
}

TEST(WatchReconnect, GivesUpAfterMaxAttempts) {
  ScriptedGateway gw({{{}, kUnavailable}, {{}, kUnavailable}, {{}, kUnavailable}});
  FakeServer server(&gw);
  Recorded rec;
  WatchOptions o;
  o.backoff.max_attempts = 2;
  auto result = run_watch(server.address(), &rec, o);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_FALSE(result.finished);
  EXPECT_EQ(result.reconnects, 2);
  EXPECT_EQ(gw.after_seqs().size(), 3u);
}

TEST(WatchReconnect, OtherErrorsAndDisabledReconnectEndTheWatch) {
  ScriptedGateway gw(
      {{{}, grpc::Status(grpc::StatusCode::NOT_FOUND, "no such job")}, {{}, kUnavailable}});
  FakeServer server(&gw);
  Recorded rec;
  auto result = run_watch(server.address(), &rec);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(rec.sleeps.empty());
  WatchOptions o;
  o.reconnect = false;
  auto second = run_watch(server.address(), &rec, o);
  EXPECT_EQ(second.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(rec.sleeps.empty());
}

TEST(WatchReconnect, ReconnectsWhileNothingListens) {
  // A port nobody listens on: every attempt fails UNAVAILABLE at connect, like a restarting jobgw.
  int port = 0;
  {
    ScriptedGateway gw({});
    FakeServer server(&gw);
    port = server.port;
  }
  Recorded rec;
  WatchOptions o;
  o.backoff.max_attempts = 3;
  auto result = run_watch("127.0.0.1:" + std::to_string(port), &rec, o);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(rec.sleeps.size(), 3u);
}

int unused_port() {
  ScriptedGateway gw({});
  FakeServer server(&gw);
  return server.port;
}

// Without an injected sleep the wait before a reconnect follows the channel: a jobgw that
// listens again is reached then, not when a long backoff delay ends. The delay here (10 min) is
// far beyond the bound the test waits, so only an early end can finish the watch.
TEST(WatchReconnect, AWaitEndsWhenTheChannelConnectsAgain) {
  const int port = unused_port();
  const std::string address = "127.0.0.1:" + std::to_string(port);
  auto snap = running_job(1000);
  ScriptedGateway gw(
      {{{snapshot_event(1, snap, 1000), finished_event(2, snap, 1100)}, grpc::Status::OK}});
  std::unique_ptr<FakeServer> server;
  std::promise<void> first_failure;
  StreamCancel cancel;
  WatchOptions o;
  o.backoff.initial = 10min;
  o.backoff.max_delay = 10min;
  o.backoff.jitter = 0;
  o.backoff.max_elapsed = 0ms;
  o.cancel = &cancel;
  int reconnected = 0;
  o.on_reconnect = [&](const grpc::Status& status, std::chrono::milliseconds delay, int attempt) {
    EXPECT_EQ(delay, 10min);
    EXPECT_EQ(attempt, 1);
    EXPECT_TRUE(is_unreachable(status)) << status.error_message();
    first_failure.set_value();
  };
  o.on_reconnected = [&](int attempts) { reconnected = attempts; };
  GatewayClient client(GatewayClient::insecure_channel(address), 10s);
  client.set_address(address);
  v1::Scope scope;
  scope.set_type("biz");
  scope.set_id("1");
  auto watch =
      std::async(std::launch::async, [&] { return client.watch(scope, 10001, 0, nullptr, o); });
  first_failure.get_future().wait();
  server = std::make_unique<FakeServer>(&gw, port);
  if (watch.wait_for(60s) != std::future_status::ready) {
    cancel.cancel();
    FAIL() << "the watch waited out its delay instead of following the channel back up";
  }
  auto result = watch.get();
  EXPECT_TRUE(result.finished) << result.status.error_message();
  EXPECT_EQ(result.reconnects, 1);
  EXPECT_EQ(reconnected, 1);
}

TEST(UnreachableStatus, NamesTheAddressAndTheReasonInPlainWords) {
  auto refused = unreachable_status(
      grpc::Status(grpc::StatusCode::UNAVAILABLE,
                   "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: "
                   "Failed to connect to remote host: Connection refused"),
      "127.0.0.1:1");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(refused.error_message(), "cannot reach jobgw at 127.0.0.1:1: connection refused");
  EXPECT_TRUE(is_unreachable(refused));
  auto dns = unreachable_status(
      grpc::Status(grpc::StatusCode::UNAVAILABLE,
                   "DNS resolution failed for nohost.invalid:5: C-ares status is not "
                   "ARES_SUCCESS qtype=AAAA name=nohost.invalid is_balancer=0: Domain name not "
                   "found"),
      "nohost.invalid:5");
  EXPECT_EQ(dns.error_message(),
            "cannot reach jobgw at nohost.invalid:5: the host name does not resolve (Domain name "
            "not found)");
  auto tls = unreachable_status(
      grpc::Status(grpc::StatusCode::UNAVAILABLE,
                   "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:9: "
                   "Ssl handshake failed: SSL_ERROR_SSL: error:0A000086:SSL "
                   "routines::certificate verify failed"),
      "127.0.0.1:9");
  EXPECT_EQ(tls.error_message(),
            "cannot reach jobgw at 127.0.0.1:9: TLS handshake failed (certificate verify failed)");
  auto closed = unreachable_status(
      grpc::Status(grpc::StatusCode::UNAVAILABLE,
                   "failed to connect to all addresses; last error: UNAVAILABLE: "
                   "ipv6:%5B::1%5D:9: Socket closed"),
      "[::1]:9");
  EXPECT_EQ(closed.error_message(), "cannot reach jobgw at [::1]:9: socket closed");
  // jobgw's own UNAVAILABLE (it is shutting down) and other codes are left as they are.
  EXPECT_EQ(unreachable_status(kUnavailable, "a:1").error_message(), "jobgw is shutting down");
  EXPECT_FALSE(is_unreachable(kUnavailable));
  grpc::Status other(grpc::StatusCode::NOT_FOUND, "failed to connect to all addresses");
  EXPECT_EQ(unreachable_status(other, "a:1").error_message(), other.error_message());
}

TEST(DescribeStatus, PrintsTheJobCodeOnce) {
  grpc::Status refused(grpc::StatusCode::NOT_FOUND,
                       "JOB: job instance not found (JOB code 1244006)");
  EXPECT_EQ(describe_status(refused, "1244006", "r-1"),
            "NOT_FOUND: JOB: job instance not found (job_code=1244006 request_id=r-1)");
  // A message without it (an older jobgw) keeps the trailer's copy.
  grpc::Status plain(grpc::StatusCode::NOT_FOUND, "JOB: job instance not found");
  EXPECT_EQ(describe_status(plain, "1244006", ""),
            "NOT_FOUND: JOB: job instance not found (job_code=1244006)");
  // Another code in the message is JOB's text, not a copy: kept.
  grpc::Status different(grpc::StatusCode::UNKNOWN, "JOB: failed (JOB code 1)");
  EXPECT_EQ(describe_status(different, "2", ""), "UNKNOWN: JOB: failed (JOB code 1) (job_code=2)");
}

}  // namespace
}  // namespace jobgw::client
