// Runs the real jobctl binary against real jobsim + jobgw processes and checks what a user or a
// script sees: stdout, stderr and the exit code (stdout is a file here: the plain-line mode).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/client/jobctl_runner.h"
#include "tests/integration/gateway_stack.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace jobgw::client {
namespace {

using jobgw::testing::ChildProcess;
using jobgw::testing::GatewayStack;
using jobgw::testing::TempDir;

using Run = testing::JobctlRun;
using RunningJobctl = testing::JobctlProcessRun;

std::string slurp(const std::string& path) { return testing::slurp_file(path); }

// Runs jobctl through sh so stdout and stderr land in separate files, stdin reading `in` (a
// file path; default empty), with `env` (NAME=VALUE) added; bounded by `timeout`.
Run jobctl(const std::vector<std::string>& args, const std::string& addr,
           std::chrono::seconds timeout = std::chrono::seconds(60),
           const std::vector<std::string>& env = {}, const std::string& in = "/dev/null") {
  static int counter = 0;
  TempDir dir("jobctl-run");
  std::string out = dir.file("out"), err = dir.file("err");
  std::string assignments;
  for (const auto& e : env) assignments += "'" + e + "' ";
  std::vector<std::string> sh = {
      "-c",
      "exec env " + assignments + "\"$0\" \"$@\" <'" + in + "' >'" + out + "' 2>'" + err + "'",
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
  return testing::has_text(haystack, needle);
}

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

TEST(JobctlCli, NoGatewayIsAnRpcErrorInPlainWords) {
  // Nobody listens on port 1.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"health"},
           {"status", "7"},
           {"status", "7", "8", "9", "--json"},
           {"exec", "-c", "true", "--host-ids", "101", "--json"}}) {
    auto r = jobctl(args, "127.0.0.1:1");
    EXPECT_EQ(r.code, 3) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(contains(r.err, "jobctl: cannot reach jobgw at 127.0.0.1:1: connection refused\n"))
        << r.err;
    EXPECT_FALSE(contains(r.err, "failed to connect to all addresses")) << r.err;
    EXPECT_EQ(lines(r.err).size(), args[0] == "exec" ? 2u : 1u) << r.err;  // + the request id
  }
}

TEST(JobctlCli, AddressWithoutAPortIsAUsageError) {
  for (const char* addr : {"nohost", "127.0.0.1", "host:port"}) {
    auto r = jobctl({"health"}, addr);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_EQ(r.err.rfind(std::string("jobctl: bad --addr '") + addr + "'", 0), 0u) << r.err;
  }
}

TEST(JobctlCli, NoGrpcLogLinesUnlessVerbose) {
  // GRPC_VERBOSITY=DEBUG makes gRPC log every connect attempt; jobctl keeps its stderr to its own
  // line all the same.
  const std::vector<std::string> env = {"GRPC_VERBOSITY=DEBUG"};
  auto quiet = jobctl({"health"}, "127.0.0.1:1", std::chrono::seconds(60), env);
  EXPECT_EQ(quiet.code, 3);
  EXPECT_EQ(quiet.err, "jobctl: cannot reach jobgw at 127.0.0.1:1: connection refused\n");
  auto verbose = jobctl({"--verbose", "health"}, "127.0.0.1:1", std::chrono::seconds(60), env);
  EXPECT_EQ(verbose.code, 3);
  EXPECT_GT(lines(verbose.err).size(), 1u) << verbose.err;
  EXPECT_TRUE(contains(verbose.err, "jobctl: cannot reach jobgw at 127.0.0.1:1")) << verbose.err;
}

TEST(JobctlCli, EmptyScriptIsOneUsageErrorWhateverItsForm) {
  TempDir dir("jobctl-empty");
  const std::string empty = dir.file("empty.sh");
  std::ofstream(empty) << "\n  \n";
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  // Port 1: a refusal there would show something was sent.
  for (const auto& c :
       std::vector<Case>{{{"exec", "-c", "", "--host-ids", "101"},
                          "jobctl: the script is empty (-c/--command)\n"},
                         {{"exec", "--command", "   ", "--host-ids", "101"},
                          "jobctl: the script is empty (-c/--command)\n"},
                         {{"exec", "--file", empty, "--host-ids", "101"},
                          "jobctl: the script is empty (--file " + empty + ")\n"},
                         {{"exec", empty, "--host-ids", "101"},
                          "jobctl: the script is empty (--file " + empty + ")\n"},
                         {{"exec", "-", "--host-ids", "101"},
                          "jobctl: the script is empty (--file -: nothing on stdin)\n"}}) {
    auto r = jobctl(c.args, "127.0.0.1:1");
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(r.err, c.message);
    EXPECT_EQ(r.out, "");
  }
}

TEST(JobctlCli, UnreadableScriptSaysWhy) {
  auto r = jobctl({"exec", "/nonexistent/x.sh", "--host-ids", "101"}, "127.0.0.1:1");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(r.err,
            "jobctl: cannot read script file /nonexistent/x.sh: No such file or directory\n");
}

TEST(JobctlCli, VersionAndHelpCommand) {
  auto v = jobctl({"--version"}, "");
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_TRUE(std::regex_match(v.out, std::regex("jobctl [0-9]+\\.[0-9]+\\.[0-9]+ \\(revision "
                                                 "([0-9a-f]{7,}(-dirty)?|unknown)\\)\n")))
      << v.out;
  auto help = jobctl({"help"}, "");
  EXPECT_EQ(help.code, 0);
  EXPECT_EQ(help.out, jobctl({"--help"}, "").out);
  EXPECT_TRUE(contains(help.out, "Usage: jobctl [global options] COMMAND")) << help.out;
  for (const std::string cmd : {"exec", "status", "health"}) {
    auto h = jobctl({"help", cmd}, "");
    EXPECT_EQ(h.code, 0) << cmd;
    EXPECT_EQ(h.out, jobctl({cmd, "--help"}, "").out) << cmd;
    EXPECT_TRUE(contains(h.out, "Usage: jobctl " + cmd)) << h.out;
  }
  auto bad = jobctl({"help", "launch"}, "");
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(bad.err, "jobctl: unknown command 'launch'\n");
}

TEST(JobctlCli, DeprecatedTimeoutWarnsOnceAndBeforeTheCommandIsRefused) {
  auto r = jobctl({"exec", "-c", "true", "--host-ids", "101", "--timeout", "60"}, "127.0.0.1:1");
  EXPECT_EQ(r.code, 3) << r.err;  // it ran (and found nobody on port 1)
  auto err = lines(r.err);
  ASSERT_FALSE(err.empty());
  EXPECT_EQ(err[0].rfind("jobctl: warning: --timeout is deprecated", 0), 0u) << r.err;
  auto before = jobctl({"--timeout", "5", "health"}, "127.0.0.1:1");
  EXPECT_EQ(before.code, 2);
  EXPECT_TRUE(contains(before.err, "--rpc-timeout")) << before.err;
  EXPECT_TRUE(contains(before.err, "--job-timeout")) << before.err;
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
  EXPECT_TRUE(contains(unchecked.err, "cannot reach jobgw at 127.0.0.1:1")) << unchecked.err;
}

TEST_F(JobctlProcess, Health) {
  auto one = jobctl({"health", "--service", "jobgw.v1.JobGateway"}, addr());
  EXPECT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(one.out, "SERVING\n");
  // JOB's check turns SERVING once jobgw's startup probe reached jobsim.
  auto r = jobctl({"health", "--require-job"}, addr());
  for (int i = 0; i < 100 && r.code != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    r = jobctl({"health", "--require-job"}, addr());
  }
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "jobgw: SERVING\nJOB: SERVING\n");
}

std::string request_id_of(const std::string& err) {
  std::smatch m;
  if (!std::regex_search(err, m,
                         std::regex("request id: (jobctl-[0-9a-f]{16}) \\(rerun with "
                                    "--request-id to reuse\\)\n"))) {
    return "";
  }
  return m[1];
}

TEST_F(JobctlProcess, GeneratedRequestIdIsPrintedAndReusingItGivesTheSameJob) {
  auto first = jobctl({"exec", "-c", "echo once", "--host-ids", "101"}, addr());
  ASSERT_EQ(first.code, 0) << first.err;
  const std::string id = request_id_of(first.err);
  ASSERT_FALSE(id.empty()) << first.err;
  auto again = jobctl({"exec", "-c", "echo once", "--host-ids", "101", "--request-id", id}, addr());
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(job_id_of(again.out), job_id_of(first.out));
  EXPECT_EQ(again.err, "");  // an id given is not announced again
  // A new run without it is a new job, with a new id.
  auto other = jobctl({"exec", "-c", "echo once", "--host-ids", "101"}, addr());
  ASSERT_EQ(other.code, 0) << other.err;
  EXPECT_NE(request_id_of(other.err), id);
  EXPECT_NE(job_id_of(other.out), job_id_of(first.out));
  // --json: the id is a field of the output, stderr stays empty.
  auto json = jobctl({"exec", "-c", "echo once", "--host-ids", "101", "--json"}, addr());
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_EQ(json.err, "");
  auto j = nlohmann::json::parse(json.out);
  const std::string json_id = j["request_id"];
  EXPECT_TRUE(std::regex_match(json_id, std::regex("jobctl-[0-9a-f]{16}"))) << json.out;
  auto json_again = jobctl(
      {"exec", "-c", "echo once", "--host-ids", "101", "--json", "--request-id", json_id}, addr());
  ASSERT_EQ(json_again.code, 0) << json_again.err;
  auto k = nlohmann::json::parse(json_again.out);
  EXPECT_EQ(k["job_instance_id"], j["job_instance_id"]);
  EXPECT_EQ(k["request_id"], json_id);
  // --no-request-id: none sent, none printed; the same command twice is two jobs.
  auto none = jobctl({"exec", "-c", "echo once", "--host-ids", "101", "--no-request-id"}, addr());
  auto none_again =
      jobctl({"exec", "-c", "echo once", "--host-ids", "101", "--no-request-id"}, addr());
  ASSERT_EQ(none.code, 0) << none.err;
  ASSERT_EQ(none_again.code, 0) << none_again.err;
  EXPECT_EQ(none.err, "");
  EXPECT_NE(job_id_of(none.out), job_id_of(none_again.out));
  auto none_json =
      jobctl({"exec", "-c", "echo once", "--host-ids", "101", "--no-request-id", "--json"}, addr());
  EXPECT_FALSE(nlohmann::json::parse(none_json.out).contains("request_id")) << none_json.out;
}

TEST_F(JobctlProcess, RpcTimeoutBoundsCallsNotTheWatch) {
  auto r = jobctl({"--rpc-timeout", "1", "exec", "-c", "sleep 3; echo late", "--host-ids", "103",
                   "--job-timeout", "60", "--watch", "--plain"},
                  addr());
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "status=success")) << r.out;
  EXPECT_FALSE(contains(r.err, "DEADLINE_EXCEEDED")) << r.err;
}

TEST_F(JobctlProcess, StatusOfSeveralJobsPrintsEachAndExitsWithTheWorst) {
  auto good = jobctl({"exec", "-c", "true", "--host-ids", "101", "--watch"}, addr());
  ASSERT_EQ(good.code, 0) << good.err;
  auto bad = jobctl({"exec", "-c", "exit 4", "--host-ids", "102", "--watch"}, addr());
  ASSERT_EQ(bad.code, 1) << bad.err;
  const std::string g = std::to_string(job_id_of(good.out));
  const std::string b = std::to_string(job_id_of(bad.out));

  auto both = jobctl({"status", g, b}, addr());
  EXPECT_EQ(both.code, 1) << both.err;
  // One block per job, in the order asked, a blank line between.
  auto at_good = both.out.find("job " + g);
  auto blank = both.out.find("\n\n");
  auto at_bad = both.out.find("job " + b);
  ASSERT_NE(at_good, std::string::npos) << both.out;
  ASSERT_NE(at_bad, std::string::npos) << both.out;
  EXPECT_LT(at_good, blank) << both.out;
  EXPECT_LT(blank, at_bad) << both.out;
  EXPECT_EQ(jobctl({"status", g, g}, addr()).code, 0);

  auto json = jobctl({"status", g, "987654321", b, "--json"}, addr());
  EXPECT_EQ(json.code, 3) << json.err;  // one could not be read: the worst
  auto array = nlohmann::json::parse(json.out);
  ASSERT_TRUE(array.is_array()) << json.out;
  ASSERT_EQ(array.size(), 3u) << json.out;
  EXPECT_EQ(array[0]["job_instance_id"], g);
  EXPECT_EQ(array[0]["status"], "JOB_STATUS_SUCCESS");
  EXPECT_EQ(array[1]["job_instance_id"], "987654321");
  EXPECT_TRUE(contains(array[1]["error"].get<std::string>(), "NOT_FOUND")) << json.out;
  EXPECT_EQ(array[2]["job_instance_id"], b);
  EXPECT_TRUE(contains(json.err, "job 987654321: NOT_FOUND")) << json.err;
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
  // Once: jobgw's message says it too.
  EXPECT_EQ(r.err.find("1244006"), r.err.rfind("1244006")) << r.err;
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

// Every FILE entry line of `out`, each with how often it was printed.
std::map<std::string, int> file_entry_lines(const std::string& out) {
  std::map<std::string, int> seen;
  for (const auto& line : lines(out)) {
    if (contains(line, "download ") || contains(line, "upload ")) ++seen[line];
  }
  return seen;
}

// A transfer slow enough (2 MB at 1 MB/s from each source) that jobgw sees each file's progress
// change several times: each entry is still printed once, without JOB's text repeating it.
TEST_F(JobctlProcess, TransferLogEntriesArePrintedOnce) {
  for (const char* host : {"101", "102"}) {
    auto mk = jobctl(
        {"exec", "-c", "head -c 2000000 /dev/zero > data/once.log", "--host-ids", host, "--watch"},
        addr());
    ASSERT_EQ(mk.code, 0) << mk.out << mk.err;
  }
  auto t = jobctl(
      {"transfer", "101:/data/once.log", "102:/data/once.log", "--to", "/tmp/once", "--host-ids",
       "104,105", "--mode", "force", "--download-limit", "1", "--watch", "--logs"},
      addr());
  ASSERT_EQ(t.code, 0) << t.out << t.err;
  const std::string id = std::to_string(job_id_of(t.out));
  for (const auto& [name, out] : std::vector<std::pair<std::string, std::string>>{
           {"transfer --watch --logs", t.out},
           {"logs", jobctl({"logs", id}, addr()).out},
           {"logs --host 104", jobctl({"logs", id, "--host", "104"}, addr()).out},
           {"logs -f", jobctl({"logs", "-f", id}, addr()).out}}) {
    auto seen = file_entry_lines(out);
    // Two sources on each of the two hosts asked about.
    EXPECT_EQ(seen.size(), name == "logs --host 104" ? 2u : 4u) << name << ":\n" << out;
    for (const auto& [line, times] : seen) {
      EXPECT_EQ(times, 1) << name << ": " << line;
      EXPECT_TRUE(contains(line, " success 100% ")) << name << ": " << line;
      EXPECT_FALSE(contains(line, "Progress:")) << name << ": " << line;
    }
  }
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
