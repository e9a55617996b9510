// Runs the real jobctl binary against real jobsim + jobgw processes and checks what a user or a
// script sees: stdout, stderr and the exit code (stdout is a file here: the plain-line mode).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/integration/gateway_stack.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace jobgw::client {
namespace {

using jobgw::testing::ChildProcess;
using jobgw::testing::GatewayStack;
using jobgw::testing::TempDir;

struct Run {
  int code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs jobctl through sh so stdout and stderr land in separate files; bounded by `timeout`.
Run jobctl(const std::vector<std::string>& args, const std::string& addr,
           std::chrono::seconds timeout = std::chrono::seconds(60)) {
  static int counter = 0;
  TempDir dir("jobctl-run");
  std::string out = dir.file("out"), err = dir.file("err");
  std::vector<std::string> sh = {"-c", "exec \"$0\" \"$@\" >'" + out + "' 2>'" + err + "'",
                                 JOBCTL_BINARY};
  if (!addr.empty()) sh.insert(sh.end(), {"--addr", addr});
  sh.insert(sh.end(), args.begin(), args.end());
  ChildProcess child("/bin/sh", sh, dir.file("sh" + std::to_string(++counter) + ".log"));
  int status = child.wait_exit(timeout);
  Run r;
  if (status == -1) {
    child.stop();
    ADD_FAILURE() << "jobctl did not finish within " << timeout.count() << "s";
  } else if (WIFEXITED(status)) {
    r.code = WEXITSTATUS(status);
  }
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::int64_t job_id_of(const std::string& out) {
  std::istringstream in(out);
  std::string word;
  std::int64_t id = 0;
  in >> word >> id;
  EXPECT_EQ(word, "job") << out;
  return id;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class JobctlProcess : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { stack_ = std::make_unique<GatewayStack>(); }
  static void TearDownTestSuite() { stack_.reset(); }
  static std::string addr() { return "127.0.0.1:" + std::to_string(stack_->grpc_port()); }
  static std::unique_ptr<GatewayStack> stack_;
};
std::unique_ptr<GatewayStack> JobctlProcess::stack_;

TEST(JobctlCli, HelpOnEverySubcommand) {
  for (std::string cmd : {"exec", "transfer", "watch", "logs", "status", "terminate", "health"}) {
    auto r = jobctl({cmd, "--help"}, "");
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_TRUE(contains(r.out, "Usage: jobctl " + cmd)) << r.out;
    EXPECT_TRUE(contains(r.out, "--addr")) << r.out;
  }
  auto top = jobctl({"--help"}, "");
  EXPECT_EQ(top.code, 0);
  EXPECT_TRUE(contains(top.out, "Exit codes"));
}

TEST(JobctlCli, UsageErrorsExit2WithOneLine) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{},
                                             {"frobnicate"},
                                             {"exec", "-c", "true"},
                                             {"status"},
                                             {"watch", "1", "--nope"},
                                             {"exec", "-c", "true", "--hosts", "0:bad"}}) {
    auto r = jobctl(args, "");
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("jobctl: ", 0), 0u) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST(JobctlCli, NoGatewayIsAnRpcError) {
  auto r = jobctl({"--rpc-timeout", "3", "health"}, "127.0.0.1:1");
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err.rfind("jobctl: Health/Check: UNAVAILABLE: ", 0), 0u) << r.err;
}

TEST(JobctlCli, OversizedScriptIsRefusedBeforeSendingNamingTheFlag) {
  TempDir dir("jobctl-big");
  const std::string path = dir.file("big.sh");
  std::ofstream(path) << std::string(5 << 20, '#');
  // Nobody listens on port 1: a refusal there proves nothing was sent.
  auto r = jobctl({"exec", path, "--host-ids", "101"}, "127.0.0.1:1");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_TRUE(contains(r.err, "script file '" + path + "' is 5242880 bytes")) << r.err;
  EXPECT_TRUE(contains(r.err, "--max-script-bytes (1048576")) << r.err;
  // An argument is at most 128 KiB (Linux MAX_ARG_STRLEN): a smaller limit shows the -c case.
  auto inline_script = jobctl(
      {"exec", "-c", std::string(100000, '#'), "--host-ids", "101", "--max-script-bytes", "4096"},
      "127.0.0.1:1");
  EXPECT_EQ(inline_script.code, 2) << inline_script.err;
  EXPECT_TRUE(contains(inline_script.err,
                       "-c script is 100000 bytes, over --max-script-bytes "
                       "(4096)"))
      << inline_script.err;
  // 0 turns the check off: the call is made (and fails to connect).
  auto unchecked =
      jobctl({"--rpc-timeout", "3", "exec", path, "--host-ids", "101", "--max-script-bytes", "0"},
             "127.0.0.1:1");
  EXPECT_EQ(unchecked.code, 3) << unchecked.err;
  EXPECT_TRUE(contains(unchecked.err, "UNAVAILABLE")) << unchecked.err;
}

TEST_F(JobctlProcess, Health) {
  auto r = jobctl({"health"}, addr());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "SERVING\n");
}

TEST_F(JobctlProcess, ExecWatchLogsPlain) {
  auto r = jobctl(
      {"exec", "-c", "echo hello from $JOB_HOST_ID", "--host-ids", "101,102", "--watch", "--logs"},
      addr());
  ASSERT_EQ(r.code, 0) << r.out << r.err << stack_->logs();
  auto out = lines(r.out);
  ASSERT_GE(out.size(), 4u);
  auto id = job_id_of(out[0]);
  EXPECT_GT(id, 0);
  // Plain mode (stdout is not a terminal): no escape codes, one line per event.
  EXPECT_FALSE(contains(r.out, "\x1b["));
  EXPECT_TRUE(contains(r.out, "finished job=" + std::to_string(id) + " status=success done=2/2"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "[101 0:192.0.2.1] hello from 101")) << r.out;
  EXPECT_TRUE(contains(r.out, "[102 0:192.0.2.2] hello from 102")) << r.out;
}

TEST_F(JobctlProcess, FailedJobExits1) {
  // The sleep lets the watch start before the host fails, so the failure arrives as a host change
  // (a slower jobgw, e.g. under ASan, otherwise sees it already in the first snapshot).
  auto r = jobctl({"exec", "-c", "sleep 2; exit 3", "--hosts", "0:192.0.2.1", "--watch"}, addr());
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "nonzero_exit_code exit=3")) << r.out;
  EXPECT_TRUE(contains(r.out, "status=failed")) << r.out;
}

TEST_F(JobctlProcess, WatchJsonStatusAndLogsOfAnExistingJob) {
  auto sub = jobctl({"exec", "-c", "echo line1; echo line2", "--host-ids", "103"}, addr());
  ASSERT_EQ(sub.code, 0) << sub.err;
  auto id = std::to_string(job_id_of(sub.out));
  auto w = jobctl({"watch", id, "--json"}, addr());
  ASSERT_EQ(w.code, 0) << w.err;
  auto events = lines(w.out);
  ASSERT_FALSE(events.empty());
  for (const auto& l : events) {
    auto j = nlohmann::json::parse(l);  // throws (fails the test) on a non-JSON line
    EXPECT_TRUE(j.contains("kind")) << l;
  }
  auto last = nlohmann::json::parse(events.back());
  EXPECT_EQ(last["kind"], "EVENT_KIND_FINISHED");
  EXPECT_EQ(last["snapshot"]["status"], "JOB_STATUS_SUCCESS");

  auto s = jobctl({"status", id}, addr());
  EXPECT_EQ(s.code, 0) << s.err;
  EXPECT_TRUE(contains(s.out, "status: success")) << s.out;
  EXPECT_TRUE(contains(s.out, "0:192.0.2.3")) << s.out;
  auto sj = jobctl({"status", id, "--json"}, addr());
  EXPECT_EQ(nlohmann::json::parse(sj.out)["finished"], true);

  auto logs = jobctl({"logs", id, "--host", "103"}, addr());
  EXPECT_EQ(logs.code, 0) << logs.err;
  EXPECT_EQ(logs.out, "[103 0:192.0.2.3] line1\n[103 0:192.0.2.3] line2\n");
}

TEST_F(JobctlProcess, UnknownJobIsAnRpcErrorWithJobCode) {
  auto r = jobctl({"status", "987654321"}, addr());
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("jobctl: GetJobStatus: NOT_FOUND: ", 0), 0u) << r.err;
  EXPECT_TRUE(contains(r.err, "job_code=1244006")) << r.err;
  auto w = jobctl({"watch", "987654321"}, addr());
  EXPECT_EQ(w.code, 3) << w.out << w.err;
  EXPECT_TRUE(contains(w.err, "jobctl: WatchStatus: NOT_FOUND")) << w.err;
}

TEST_F(JobctlProcess, TransferWatch) {
  auto mk = jobctl({"exec", "-c", "echo payload-42 > data/a.log", "--host-ids", "101", "--watch"},
                   addr());
  ASSERT_EQ(mk.code, 0) << mk.out << mk.err;
  auto t = jobctl({"transfer", "101:/data/a.log", "--to", "/tmp/in", "--host-ids", "104",
                   "--download-limit", "10", "--watch"},
                  addr());
  ASSERT_EQ(t.code, 0) << t.out << t.err;
  EXPECT_TRUE(contains(t.out, "status=success")) << t.out;
  auto check =
      jobctl({"exec", "-c", "cat tmp/in/a.log", "--host-ids", "104", "--watch", "--logs"}, addr());
  EXPECT_EQ(check.code, 0) << check.err;
  EXPECT_TRUE(contains(check.out, "[104 0:192.0.2.4] payload-42")) << check.out;
  auto tl = jobctl({"logs", std::to_string(job_id_of(t.out)), "--host", "104"}, addr());
  EXPECT_EQ(tl.code, 0) << tl.err;
  EXPECT_TRUE(contains(tl.out, "download 0:192.0.2.1:/data/a.log -> /tmp/in")) << tl.out;
}

TEST_F(JobctlProcess, TerminateEndsTheJob) {
  auto sub = jobctl({"exec", "-c", "sleep 60", "--host-ids", "105"}, addr());
  ASSERT_EQ(sub.code, 0) << sub.err;
  auto id = std::to_string(job_id_of(sub.out));
  // Give jobsim a moment to start the script; terminate works in either state.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto t = jobctl({"terminate", id}, addr());
  EXPECT_EQ(t.code, 0) << t.err;
  EXPECT_EQ(t.out, "terminating job " + id + "\n");
  auto w = jobctl({"watch", id, "--plain"}, addr());
  EXPECT_EQ(w.code, 1) << w.out << w.err;
  EXPECT_TRUE(contains(w.out, "status=terminated")) << w.out;
}

TEST_F(JobctlProcess, LogsOfAHostTheStepDoesNotHaveIsAnErrorNamingIt) {
  auto sub = jobctl({"exec", "-c", "echo mine", "--host-ids", "102", "--watch"}, addr());
  ASSERT_EQ(sub.code, 0) << sub.err;
  auto id = std::to_string(job_id_of(sub.out));
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{}, std::vector<std::string>{"--json"}}) {
    std::vector<std::string> args = {"logs", id, "--host", "999"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = jobctl(args, addr());
    EXPECT_EQ(r.code, 3) << r.out << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(contains(r.err, "jobctl: GetIpLogs: NOT_FOUND: host_ids: 999 is not a host of"))
        << r.err;
  }
}

TEST_F(JobctlProcess, TerminateOfAFinishedJobIsAFailedPrecondition) {
  auto sub = jobctl({"exec", "-c", "true", "--host-ids", "101", "--watch"}, addr());
  ASSERT_EQ(sub.code, 0) << sub.err;
  auto t = jobctl({"terminate", std::to_string(job_id_of(sub.out))}, addr());
  EXPECT_EQ(t.code, 3) << t.out << t.err;
  EXPECT_TRUE(contains(t.err, "jobctl: TerminateJob: FAILED_PRECONDITION: ")) << t.err;
  EXPECT_TRUE(contains(t.err, "job_code=1241010")) << t.err;
}

}  // namespace
}  // namespace jobgw::client
