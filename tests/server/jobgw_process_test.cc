// The jobgw binary as a process: --help, bad configuration, startup and SIGTERM.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "jobgw/v1/job_gateway.grpc.pb.h"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// server_tests lives in BUILD/tests/server, jobgw in BUILD/server.
std::optional<std::string> jobgw_binary() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  fs::path bin = self.parent_path().parent_path().parent_path() / "server" / "jobgw";
  if (!fs::exists(bin)) return std::nullopt;
  return bin.string();
}

struct Child {
  pid_t pid = -1;
  int out_fd = -1;  // stdout and stderr, merged
};

Child spawn(const std::string& bin, const std::vector<std::string>& args) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  Child c;
  c.pid = ::fork();
  if (c.pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(bin.c_str()));
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  c.out_fd = fds[0];
  return c;
}

std::string drain(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

// The exit code, or -1 when the child did not exit in time (it is then killed).
int wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(20ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

std::string http_get(int port, const std::string& path) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  boost::system::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}, ec);
  if (ec) return {};
  timeval tv{5, 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  asio::write(s, asio::buffer("GET " + path + " HTTP/1.1\r\nConnection: close\r\n\r\n"), ec);
  std::string out;
  char buf[4096];
  for (;;) {
    std::size_t n = s.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

class JobgwProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bin = jobgw_binary();
    if (!bin) GTEST_SKIP() << "jobgw is not built next to server_tests";
    bin_ = *bin;
    dir_ = fs::temp_directory_path() / ("jobgw_process_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  std::string bin_;
  fs::path dir_;
};

TEST_F(JobgwProcessTest, HelpExitsZeroAndListsKeys) {
  Child c = spawn(bin_, {"--help"});
  std::string out = drain(c.out_fd);
  EXPECT_EQ(wait_exit(c.pid, 10s), 0);
  EXPECT_NE(out.find("--job.base_url"), std::string::npos) << out;
  EXPECT_NE(out.find("JOBGW_JOB_BASE_URL"), std::string::npos) << out;
}

TEST_F(JobgwProcessTest, BadConfigExitsTwoWithOneLine) {
  Child c = spawn(bin_, {"--watch.poll_jitter=7"});
  std::string out = drain(c.out_fd);
  EXPECT_EQ(wait_exit(c.pid, 10s), 2);
  EXPECT_NE(out.find("watch.poll_jitter"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
}

TEST_F(JobgwProcessTest, UnusableStateFileStopsStartupNamingTheKey) {
  const std::string path = (dir_ / "no-such-dir" / "state.db").string();
  Child c = spawn(bin_, {"--grpc.listen=127.0.0.1:0", "--metrics.listen=", "--insecure-dev",
                         "--state.path=" + path});
  std::string out = drain(c.out_fd);
  EXPECT_EQ(wait_exit(c.pid, 10s), 1);
  EXPECT_NE(out.find("key=state.path"), std::string::npos) << out;
  EXPECT_NE(out.find(path), std::string::npos) << out;
}

TEST_F(JobgwProcessTest, RefusesToStartWithoutAWayToAuthenticate) {
  Child c = spawn(bin_, {"--grpc.listen=127.0.0.1:0",
                         "--metrics.listen=", "--state.path=" + (dir_ / "state.db").string()});
  std::string out = drain(c.out_fd);
  EXPECT_EQ(wait_exit(c.pid, 10s), 1);
  EXPECT_NE(out.find("auth.credentials_file"), std::string::npos) << out;
  EXPECT_NE(out.find("--insecure-dev"), std::string::npos) << out;
}

TEST_F(JobgwProcessTest, CredentialsFileAndInsecureDevTogetherAreAnError) {
  Child c = spawn(bin_, {"--auth.credentials_file=/nonexistent.json", "--insecure-dev"});
  std::string out = drain(c.out_fd);
  EXPECT_EQ(wait_exit(c.pid, 10s), 2);
  EXPECT_NE(out.find("both set"), std::string::npos) << out;
}

TEST_F(JobgwProcessTest, BadCredentialsFileStopsStartupNamingEntryAndField) {
  const std::string path = (dir_ / "credentials.json").string();
  std::ofstream(path) << R"({"callers": [{"name": "ci", "token_sha256": "abc",
                           "scopes": ["biz:1"], "operations": ["read"]}]})";
  Child c = spawn(
      bin_, {"--grpc.listen=127.0.0.1:0", "--metrics.listen=", "--auth.credentials_file=" + path,
             "--state.path=" + (dir_ / "state.db").string()});
  std::string out = drain(c.out_fd);
  EXPECT_EQ(wait_exit(c.pid, 10s), 1);
  EXPECT_NE(out.find("callers[0] (ci).token_sha256"), std::string::npos) << out;
}

TEST_F(JobgwProcessTest, ServesThenShutsDownStreamsUnavailableAndExitsZero) {
  std::string ports_file = (dir_ / "ports.json").string();
  // Nothing listens on port 1: status reads fail and retry, so the watch stays open until
  // shutdown ends it. Callback and metrics listen on different specs, so on two listeners.
  Child c = spawn(bin_, {"--grpc.listen=127.0.0.1:0", "--metrics.listen=127.0.0.1:0",
                         "--callback.listen=localhost:0", "--job.base_url=http://127.0.0.1:1",
                         "--threads=2", "--shutdown_grace_ms=4000", "--job.app_code=code",
                         "--job.app_secret=do-not-print-me", "--ports_file=" + ports_file,
                         "--state.path=" + (dir_ / "state.db").string(), "--insecure-dev"});
  int flags = ::fcntl(c.out_fd, F_GETFL);
  ::fcntl(c.out_fd, F_SETFL, flags | O_NONBLOCK);

  nlohmann::json ports;
  for (int i = 0; i < 500 && ports.is_null(); ++i) {
    std::ifstream in(ports_file);
    if (in) ports = nlohmann::json::parse(in, nullptr, false);
    if (ports.is_discarded()) ports = nullptr;
    if (ports.is_null()) std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(ports.is_object()) << "no ports file";
  int grpc_port = ports["grpc"].get<int>();
  int metrics_port = ports["metrics"].get<int>();
  int callback_port = ports["callback"].get<int>();
  EXPECT_NE(metrics_port, callback_port);

  EXPECT_NE(http_get(metrics_port, "/healthz").find("200 OK"), std::string::npos);
  EXPECT_NE(http_get(callback_port, "/healthz").find("200 OK"), std::string::npos);
  // Separate addresses: /metrics only on the metrics listener.
  EXPECT_NE(http_get(callback_port, "/metrics").find("404"), std::string::npos);

  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc_port),
                                     grpc::InsecureChannelCredentials());
  ASSERT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() + 5s));
  auto stub = jobgw::v1::JobGateway::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  jobgw::v1::WatchStatusRequest req;
  req.mutable_scope()->set_type("biz");
  req.mutable_scope()->set_id("1");
  req.set_job_instance_id(4242);
  auto reader = stub->WatchStatus(&ctx, req);

  bool subscribed = false;
  for (int i = 0; i < 250 && !subscribed; ++i) {
    subscribed =
        http_get(metrics_port, "/metrics").find("jobgw_subscribers 1") != std::string::npos;
    if (!subscribed) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(subscribed);

  auto begin = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(c.pid, SIGTERM), 0);
  jobgw::v1::StatusEvent event;
  while (reader->Read(&event)) {
  }
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(wait_exit(c.pid, 10s), 0);
  // The open client connection holds gRPC's Shutdown until its deadline; the process still
  // exits within the configured grace.
  auto took = std::chrono::steady_clock::now() - begin;
  std::string log = drain(c.out_fd);
  EXPECT_LT(took, 4000ms) << log;

  EXPECT_NE(log.find("event=started"), std::string::npos) << log;
  // --insecure-dev is announced loudly, as a warning, at start.
  EXPECT_NE(log.find("warning event=insecure_dev"), std::string::npos) << log;
  EXPECT_NE(log.find("app_secret=<set>"), std::string::npos) << log;
  EXPECT_EQ(log.find("do-not-print-me"), std::string::npos) << log;
  EXPECT_NE(log.find("event=stopped"), std::string::npos) << log;
}

}  // namespace
