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

// jobctl running in the background, its stdout and stderr in files the test reads meanwhile.
class RunningJobctl {
 public:
  RunningJobctl(const std::vector<std::string>& args, const std::string& addr)
      : dir_("jobctl-bg"), out_(dir_.file("out")), err_(dir_.file("err")) {
    std::vector<std::string> sh = {"-c", "exec \"$0\" \"$@\" >'" + out_ + "' 2>'" + err_ + "'",
                                   JOBCTL_BINARY, "--addr", addr};
    sh.insert(sh.end(), args.begin(), args.end());
    child_ = std::make_unique<ChildProcess>("/bin/sh", sh, dir_.file("sh.log"));
  }

  // Polls stdout until it holds `text`; false when jobctl exited or `timeout` passed first.
  bool wait_for_output(const std::string& text, std::chrono::seconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (contains(slurp(out_), text)) return true;
      if (!child_->running()) return contains(slurp(out_), text);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  std::string out() const { return slurp(out_); }

  Run finish(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    Run r;
    int status = child_->wait_exit(timeout);
    if (status == -1) {
      child_->stop();
      ADD_FAILURE() << "jobctl did not finish within " << timeout.count() << "s";
    } else if (WIFEXITED(status)) {
      r.code = WEXITSTATUS(status);
    }
    r.out = slurp(out_);
    r.err = slurp(err_);
    return r;
  }

 private:
  TempDir dir_;
  std::string out_, err_;
  std::unique_ptr<ChildProcess> child_;
};

class JobctlProcess : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { stack_ = std::make_unique<GatewayStack>(); }
  static void TearDownTestSuite() { stack_.reset(); }
  static std::string addr() { return "127.0.0.1:" + std::to_string(stack_->grpc_port()); }
  // Whether JOB (jobsim, through jobgw) reports the job finished.
  static bool finished(std::int64_t job_id) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::GetJobStatusRequest request;
    request.mutable_scope()->set_id("1");
    request.set_job_instance_id(job_id);
    v1::JobSnapshot snapshot;
    auto status = stack_->stub().GetJobStatus(&context, request, &snapshot);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return snapshot.finished();
  }
  static std::unique_ptr<GatewayStack> stack_;
};
std::unique_ptr<GatewayStack> JobctlProcess::stack_;

TEST(JobctlCli, HelpOnEverySubcommand) {
  for (std::string cmd :
       {"exec", "transfer", "watch", "logs", "list", "status", "terminate", "health"}) {
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

TEST_F(JobctlProcess, ListShowsASubmittedJob) {
  auto sub = jobctl(
      {"exec", "-c", "true", "--host-ids", "101,102", "--name", "list-probe-1", "--watch"}, addr());
  ASSERT_EQ(sub.code, 0) << sub.out << sub.err;
  const std::string id = std::to_string(job_id_of(sub.out));

  auto all = jobctl({"list"}, addr());
  ASSERT_EQ(all.code, 0) << all.err;
  auto rows = lines(all.out);
  ASSERT_GE(rows.size(), 2u) << all.out;
  EXPECT_EQ(rows[0].rfind("JOB ID  ", 0), 0u) << all.out;
  bool found = false;
  for (const auto& row : rows) {
    if (row.rfind(id + " ", 0) != 0) continue;
    found = true;
    EXPECT_TRUE(contains(row, " list-probe-1 ")) << row;
    EXPECT_TRUE(contains(row, " success ")) << row;
    EXPECT_TRUE(contains(row, " 2/0/0/2 ")) << row;
  }
  EXPECT_TRUE(found) << all.out;

  auto named =
      jobctl({"list", "--name-prefix", "list-probe-", "--state", "finished", "--json"}, addr());
  ASSERT_EQ(named.code, 0) << named.err;
  auto json_rows = lines(named.out);
  ASSERT_EQ(json_rows.size(), 1u) << named.out;
  auto j = nlohmann::json::parse(json_rows[0]);
  EXPECT_EQ(j["job_instance_id"], id);  // int64 is a string in protobuf's JSON
  EXPECT_EQ(j["name"], "list-probe-1");

  auto none = jobctl({"list", "--name-prefix", "list-probe-", "--state", "running"}, addr());
  EXPECT_EQ(none.code, 0) << none.err;
  EXPECT_EQ(none.out, "no jobs\n");
}

TEST_F(JobctlProcess, ListPagesWithLimitAndAll) {
  for (const char* name : {"page-probe-1", "page-probe-2", "page-probe-3"}) {
    auto sub = jobctl({"exec", "-c", "true", "--host-ids", "103", "--name", name}, addr());
    ASSERT_EQ(sub.code, 0) << sub.err;
  }
  auto one = jobctl({"list", "--name-prefix", "page-probe-", "--limit", "2"}, addr());
  EXPECT_EQ(one.code, 0) << one.err;
  auto first_page = lines(one.out);
  EXPECT_EQ(first_page.size(), 3u) << one.out;  // header + 2
  // Newest first.
  ASSERT_GE(first_page.size(), 2u);
  EXPECT_TRUE(contains(first_page[1], " page-probe-3 ")) << one.out;
  EXPECT_EQ(one.err, "more: use --all\n");
  auto every = jobctl({"list", "--name-prefix", "page-probe-", "--limit", "2", "--all"}, addr());
  EXPECT_EQ(every.code, 0) << every.err;
  EXPECT_EQ(lines(every.out).size(), 4u) << every.out;
  EXPECT_EQ(every.err, "");
}

TEST_F(JobctlProcess, LogsFollowPrintsOutputWhileTheScriptRuns) {
  auto sub = jobctl({"exec", "-c", "echo a; sleep 1; echo b", "--host-ids", "104"}, addr());
  ASSERT_EQ(sub.code, 0) << sub.err;
  const auto id = job_id_of(sub.out);
  RunningJobctl follow({"logs", "-f", std::to_string(id)}, addr());
  ASSERT_TRUE(follow.wait_for_output("a\n", std::chrono::seconds(30)))
      << follow.finish().err << stack_->logs();
  // "a" came while the script still slept before "b": the output is live, not read at the end.
  EXPECT_FALSE(finished(id)) << "the output came only once the job had ended:\n" << follow.out();
  auto r = follow.finish();
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  // One host: its text unprefixed, as it was written; only its end names it.
  EXPECT_EQ(r.out, "a\nb\n[104 0:192.0.2.4] ended: success exit 0\n");
}

TEST_F(JobctlProcess, LogsFollowOfSeveralHostsPrefixesLinesAndExits1WhenOneFailed) {
  auto sub = jobctl({"exec", "-c", "echo out-$JOB_HOST_ID; [ $JOB_HOST_ID = 102 ] && exit 3; true",
                     "--host-ids", "101,102", "--watch"},
                    addr());
  ASSERT_EQ(sub.code, 1) << sub.out << sub.err;
  auto r = jobctl({"logs", "-f", std::to_string(job_id_of(sub.out))}, addr());
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "[101 0:192.0.2.1] out-101\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "[102 0:192.0.2.2] out-102\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "[101 0:192.0.2.1] ended: success exit 0\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "[102 0:192.0.2.2] ended: nonzero_exit_code exit 3\n")) << r.out;
  // Only the hosts asked for.
  auto one = jobctl({"logs", "-f", std::to_string(job_id_of(sub.out)), "--host", "101"}, addr());
  EXPECT_EQ(one.code, 0) << one.out << one.err;
  EXPECT_EQ(one.out, "out-101\n[101 0:192.0.2.1] ended: success exit 0\n");
}

TEST_F(JobctlProcess, ExecWatchLogsPrintsHostPrefixedLinesLive) {
  RunningJobctl exec(
      {"exec", "-c", "echo a; sleep 1; echo b", "--host-ids", "104,105", "--watch", "--logs"},
      addr());
  ASSERT_TRUE(exec.wait_for_output("[104 0:192.0.2.4] a\n", std::chrono::seconds(30)))
      << exec.finish().out << stack_->logs();
  const auto id = job_id_of(exec.out());
  EXPECT_FALSE(finished(id)) << "the output came only once the job had ended:\n" << exec.out();
  auto r = exec.finish();
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto out = lines(r.out);
  // Each host's lines in order, prefixed; the status summary stays the last line.
  for (const std::string host : {"[104 0:192.0.2.4] ", "[105 0:192.0.2.5] "}) {
    auto a = r.out.find(host + "a\n");
    auto b = r.out.find(host + "b\n");
    auto end = r.out.find(host + "ended: success exit 0\n");
    EXPECT_NE(a, std::string::npos) << r.out;
    EXPECT_NE(b, std::string::npos) << r.out;
    EXPECT_LT(a, b) << r.out;
    EXPECT_LT(b, end) << r.out;
  }
  EXPECT_TRUE(contains(out.back(), "finished job=" + std::to_string(id) + " status=success"))
      << r.out;
}

}  // namespace
}  // namespace jobgw::client
