#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <mutex>

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
  explicit FakeServer(ScriptedGateway* service) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
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
};

WatchResult run_watch(const std::string& address, Recorded* rec, WatchOptions options = {}) {
  GatewayClient client(GatewayClient::insecure_channel(address), 10s);
  options.sleep = [rec](std::chrono::milliseconds d) { rec->sleeps.push_back(d); };
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

}  // namespace
}  // namespace jobgw::client
