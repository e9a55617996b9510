// GatewayClient::follow_logs against a scripted JobGateway: reconnects with after_seq, ends on
// other errors, and can be cancelled from another thread; plus what exec --watch --logs asks.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>

#include "client/follow_command.h"
#include "client/gateway_client.h"
#include "client/log_printer.h"

namespace jobgw::client {
namespace {

using namespace std::chrono_literals;

// A JobGateway whose FollowLogs follows a script: one entry per call, each the events to send
// and the status to end with; `hold` keeps the call open until the client cancels it.
class ScriptedLogs final : public v1::JobGateway::Service {
 public:
  struct Call {
    std::vector<v1::LogEvent> events;
    grpc::Status end;
    bool hold = false;
  };
  explicit ScriptedLogs(std::vector<Call> calls) : calls_(std::move(calls)) {}

  grpc::Status FollowLogs(grpc::ServerContext* context, const v1::FollowLogsRequest* request,
                          grpc::ServerWriter<v1::LogEvent>* writer) override {
    Call call;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(*request);
      cv_.notify_all();
      if (next_ >= calls_.size()) return grpc::Status(grpc::StatusCode::INTERNAL, "no more calls");
      call = calls_[next_++];
    }
    for (const auto& e : call.events) writer->Write(e);
    while (call.hold && !context->IsCancelled()) std::this_thread::sleep_for(5ms);
    return call.end;
  }

  std::vector<v1::FollowLogsRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::vector<std::uint64_t> after_seqs() {
    std::vector<std::uint64_t> out;
    for (const auto& r : requests()) out.push_back(r.after_seq());
    return out;
  }
  void wait_for_calls(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return requests_.size() >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Call> calls_;
  std::size_t next_ = 0;
  std::vector<v1::FollowLogsRequest> requests_;
};

struct FakeServer {
  explicit FakeServer(ScriptedLogs* service) {
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

v1::LogEvent text(std::uint64_t seq, const std::string& t, bool resumed = false) {
  v1::LogEvent e;
  e.set_seq(seq);
  e.set_kind(v1::LOG_EVENT_KIND_TEXT);
  e.mutable_host()->set_host_id(101);
  e.mutable_host()->set_ip("192.0.2.1");
  e.set_text(t);
  e.set_resumed(resumed);
  return e;
}

v1::LogEvent host_end(std::uint64_t seq, bool resumed = false) {
  v1::LogEvent e = text(seq, "", resumed);
  e.set_kind(v1::LOG_EVENT_KIND_HOST_END);
  e.set_status(v1::HOST_STATUS_SUCCESS);
  return e;
}

v1::FollowLogsRequest request(std::uint64_t after_seq = 0) {
  v1::FollowLogsRequest r;
  r.mutable_scope()->set_id("1");
  r.set_job_instance_id(10001);
  r.set_after_seq(after_seq);
  return r;
}

struct Run {
  FollowLogsResult result;
  std::vector<std::chrono::milliseconds> sleeps;
  std::vector<v1::LogEvent> events;
};

Run follow(const std::string& address, v1::FollowLogsRequest req, WatchOptions options = {}) {
  GatewayClient client(GatewayClient::insecure_channel(address), 10s);
  Run run;
  options.sleep = [&run](std::chrono::milliseconds d) { run.sleeps.push_back(d); };
  options.backoff.initial = 100ms;
  options.backoff.jitter = 0;
  run.result = client.follow_logs(
      req, [&run](const v1::LogEvent& e) { run.events.push_back(e); }, options);
  return run;
}

TEST(FollowLogsClient, ReconnectsAfterTheLastSeqWithWatchsBackoff) {
  ScriptedLogs gw({{{text(1, "a\n"), text(2, "b")}, kUnavailable},
                   {{}, kUnavailable},
                   {{text(3, "c\n", true), host_end(4, true)}, grpc::Status::OK}});
  FakeServer server(&gw);
  auto run = follow(server.address(), request());
  EXPECT_TRUE(run.result.status.ok()) << run.result.status.error_message();
  EXPECT_EQ(run.result.reconnects, 2);
  EXPECT_EQ(run.result.last_seq, 4u);
  EXPECT_EQ(gw.after_seqs(), (std::vector<std::uint64_t>{0, 2, 2}));
  EXPECT_EQ(run.sleeps, (std::vector<std::chrono::milliseconds>{100ms, 200ms}));
  ASSERT_EQ(run.events.size(), 4u);
}

TEST(FollowLogsClient, StartsAfterTheRequestsSeq) {
  ScriptedLogs gw({{{}, kUnavailable}, {{host_end(9, true)}, grpc::Status::OK}});
  FakeServer server(&gw);
  auto run = follow(server.address(), request(7));
  EXPECT_TRUE(run.result.status.ok());
  EXPECT_EQ(gw.after_seqs(), (std::vector<std::uint64_t>{7, 7}));
  EXPECT_EQ(run.result.last_seq, 9u);
}

TEST(FollowLogsClient, OtherErrorsAndDisabledReconnectEndIt) {
  ScriptedLogs gw(
      {{{}, grpc::Status(grpc::StatusCode::NOT_FOUND, "host_ids: 999")}, {{}, kUnavailable}});
  FakeServer server(&gw);
  auto run = follow(server.address(), request());
  EXPECT_EQ(run.result.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(run.sleeps.empty());
  WatchOptions no_reconnect;
  no_reconnect.reconnect = false;
  auto second = follow(server.address(), request(), no_reconnect);
  EXPECT_EQ(second.result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(second.sleeps.empty());
}

TEST(FollowLogsClient, CancelEndsAStreamFromAnotherThread) {
  ScriptedLogs gw({{{text(1, "a\n")}, grpc::Status::OK, true}});
  FakeServer server(&gw);
  StreamCancel cancel;
  WatchOptions options;
  options.cancel = &cancel;
  std::thread canceller([&] {
    gw.wait_for_calls(1);
    cancel.cancel();
  });
  auto run = follow(server.address(), request(), options);
  canceller.join();
  EXPECT_EQ(run.result.status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(run.sleeps.empty());
  EXPECT_EQ(gw.requests().size(), 1u);
}

TEST(FollowLogsClient, CancelledBeforeItStartsMakesNoCall) {
  ScriptedLogs gw({});
  FakeServer server(&gw);
  StreamCancel cancel;
  cancel.cancel();
  WatchOptions options;
  options.cancel = &cancel;
  auto run = follow(server.address(), request(), options);
  EXPECT_EQ(run.result.status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(gw.requests().empty());
  EXPECT_FALSE(cancel.wait(1ms));
}

TEST(FollowLogsClient, ARestartFromTheBeginningIsPrintedOnce) {
  ScriptedLogs gw({{{text(1, "a\npar")}, kUnavailable},
                   {{text(1, "a\npartial\n"), host_end(2)}, grpc::Status::OK}});
  FakeServer server(&gw);
  std::ostringstream out, err;
  LogPrinter printer({true, false}, out, err);
  WatchOptions options;
  options.sleep = [](std::chrono::milliseconds) {};
  options.on_reconnect = [&](const grpc::Status& s, std::chrono::milliseconds d, int n) {
    printer.on_reconnect(s, d, n);
  };
  GatewayClient client(GatewayClient::insecure_channel(server.address()), 10s);
  auto result = client.follow_logs(
      request(), [&](const v1::LogEvent& e) { printer.on_event(e); }, options);
  printer.finish();
  EXPECT_TRUE(result.status.ok());
  EXPECT_EQ(out.str(),
            "[101 0:192.0.2.1] a\n[101 0:192.0.2.1] a\n[101 0:192.0.2.1] partial\n"
            "[101 0:192.0.2.1] ended: success exit 0\n");
  EXPECT_NE(err.str().find("output restarts from the beginning"), std::string::npos) << err.str();
}

TEST(BackgroundLogs, PrintsOnItsOwnThreadAndReportsTheEnd) {
  ScriptedLogs gw({{{text(1, "x\ny"), host_end(2)}, grpc::Status::OK}});
  FakeServer server(&gw);
  GatewayClient client(GatewayClient::insecure_channel(server.address()), 10s);
  std::ostringstream out, err;
  std::mutex mu;
  BackgroundLogs logs(client, request(), {}, {true, false}, out, err, mu);
  bool timed_out = true;
  auto result = logs.finish(60s, &timed_out);
  EXPECT_FALSE(timed_out);
  EXPECT_TRUE(result.status.ok());
  EXPECT_EQ(out.str(),
            "[101 0:192.0.2.1] x\n[101 0:192.0.2.1] y\n[101 0:192.0.2.1] ended: success exit 0\n");
}

TEST(BackgroundLogs, AStreamThatDoesNotEndIsCancelledAfterTheGrace) {
  ScriptedLogs gw({{{text(1, "held")}, grpc::Status::OK, true}});
  FakeServer server(&gw);
  GatewayClient client(GatewayClient::insecure_channel(server.address()), 10s);
  std::ostringstream out, err;
  std::mutex mu;
  BackgroundLogs logs(client, request(), {}, {true, false}, out, err, mu);
  gw.wait_for_calls(1);
  bool timed_out = false;
  auto result = logs.finish(1ms, &timed_out);
  EXPECT_TRUE(timed_out);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::CANCELLED);
}

TEST(BackgroundLogs, CancelEndsItAtOnce) {
  ScriptedLogs gw({{{}, grpc::Status::OK, true}});
  FakeServer server(&gw);
  GatewayClient client(GatewayClient::insecure_channel(server.address()), 10s);
  std::ostringstream out, err;
  std::mutex mu;
  BackgroundLogs logs(client, request(), {}, {true, false}, out, err, mu);
  gw.wait_for_calls(1);
  EXPECT_EQ(logs.cancel().status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(out.str(), "");
}

CliCommand exec_command(int host_ids, int hosts) {
  CliCommand c;
  c.name = "exec";
  c.global.scope.set_type("biz");
  c.global.scope.set_id("2");
  c.global.operator_name = "alice";
  for (int i = 0; i < host_ids; ++i) c.targets.add_host_ids(1000 + i);
  for (int i = 0; i < hosts; ++i) {
    auto* h = c.targets.add_hosts();
    h->set_ip("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1));
  }
  return c;
}

v1::JobRef job_ref() {
  v1::JobRef ref;
  ref.set_job_instance_id(10001);
  ref.set_step_instance_id(20001);
  return ref;
}

TEST(LiveLogsRequest, UpToAHundredHostsFollowsTheWholeStep) {
  std::string note = "stale";
  auto r = live_logs_request(exec_command(kMaxLiveLogHosts, 0), job_ref(), &note);
  EXPECT_EQ(note, "");
  EXPECT_EQ(r.scope().id(), "2");
  EXPECT_EQ(r.job_instance_id(), 10001);
  EXPECT_EQ(r.step_instance_id(), 20001);
  EXPECT_EQ(r.operator_(), "alice");
  EXPECT_EQ(r.host_ids_size(), 0);
  EXPECT_EQ(r.hosts_size(), 0);
  EXPECT_EQ(r.after_seq(), 0u);
}

TEST(LiveLogsRequest, MoreFollowsTheFirstHundredAndSaysSo) {
  std::string note;
  auto r = live_logs_request(exec_command(150, 0), job_ref(), &note);
  ASSERT_EQ(r.host_ids_size(), kMaxLiveLogHosts);
  EXPECT_EQ(r.host_ids(0), 1000);
  EXPECT_EQ(r.host_ids(kMaxLiveLogHosts - 1), 1000 + kMaxLiveLogHosts - 1);
  EXPECT_EQ(r.hosts_size(), 0);
  EXPECT_NE(note.find("first 100 of 150 hosts"), std::string::npos) << note;
  EXPECT_NE(note.find("jobctl logs 10001"), std::string::npos) << note;
}

TEST(LiveLogsRequest, CloudIpTargetsCountWhenThereAreNoHostIds) {
  std::string note;
  auto r = live_logs_request(exec_command(0, 101), job_ref(), &note);
  EXPECT_EQ(r.host_ids_size(), 0);
  ASSERT_EQ(r.hosts_size(), kMaxLiveLogHosts);
  EXPECT_EQ(r.hosts(0).ip(), "10.0.0.1");
  EXPECT_NE(note.find("first 100 of 101 hosts"), std::string::npos) << note;
  // JOB runs on the host ids when both are given, so only those count.
  auto mixed = live_logs_request(exec_command(3, 200), job_ref(), &note);
  EXPECT_EQ(mixed.host_ids_size() + mixed.hosts_size(), 0);
  EXPECT_EQ(note, "");
}

}  // namespace
}  // namespace jobgw::client
