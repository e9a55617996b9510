// Runs the real jobctl binary on a real terminal (a tmux pane, 100x24) against real jobsim +
// jobgw processes, and reads the screen as a person would see it: the live table ticking, the
// failed host first in red, the summary, the final frame, and a transfer's per-host percent.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/gateway_stack.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace jobgw::client {
namespace {

using jobgw::testing::GatewayStack;
using jobgw::testing::TempDir;
using jobgw::testing::wait_until;

// The command's stdout (stderr dropped) and whether it exited 0.
bool run(const std::string& command, std::string* out = nullptr) {
  FILE* p = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return false;
  std::string text;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) text.append(buf.data(), n);
  const int status = ::pclose(p);
  if (out != nullptr) *out = text;
  return status == 0;
}

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// A tmux server of its own (socket unique to the test) with one 100x24 pane running `command`
// in sh, kept open after it ends so the last frame stays readable.
class Pane {
 public:
  explicit Pane(const std::string& command)
      : socket_("jobctl-screen-" + std::to_string(::getpid()) + "-" + std::to_string(++count_)) {
    const std::string shell = command + "; echo \"jobctl exit $?\"; exec sleep 600";
    started_ = run("tmux -L " + socket_ + " -f /dev/null new-session -d -x 100 -y 24 -s screen " +
                   quoted(shell));
  }
  ~Pane() { (void)run("tmux -L " + socket_ + " kill-server"); }
  Pane(const Pane&) = delete;
  Pane& operator=(const Pane&) = delete;

  bool started() const { return started_; }
  // The visible screen; `escapes`: with its colours as SGR sequences.
  std::string screen(bool escapes = false) const {
    std::string out;
    (void)run("tmux -L " + socket_ + " capture-pane -p " + (escapes ? "-e " : "") + "-t screen",
              &out);
    return out;
  }
  // Types `keys` (tmux key names, e.g. C-c) into the pane.
  bool keys(const std::string& keys) const {
    return run("tmux -L " + socket_ + " send-keys -t screen " + keys);
  }
  // Waits (bounded) for the screen to show `text`.
  bool wait_for(const std::string& text, std::chrono::seconds timeout) const {
    return wait_until([&] { return has(screen(), text); }, timeout, std::chrono::milliseconds(50));
  }

 private:
  static inline int count_ = 0;
  std::string socket_;
  bool started_ = false;
};

class JobctlScreen : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    have_tmux_ = run("command -v tmux >/dev/null");
    if (!have_tmux_) return;
    jobgw::testing::StackOptions options;
    options.hosts = 10;
    // Every target copies at once, so the transfer's hosts all show progress together.
    options.jobsim_args = {"--transfer-threads", "10"};
    options.jobgw_args = {"--follow.interval_ms=200"};
    stack_ = std::make_unique<GatewayStack>(options);
  }
  static void TearDownTestSuite() { stack_.reset(); }

  void SetUp() override {
    if (!have_tmux_) GTEST_SKIP() << "tmux is not installed (scripts/install-deps.sh installs it)";
    ASSERT_TRUE(stack_) << "the jobsim + jobgw stack did not start";
  }

  // jobctl with the stack's address, NO_COLOR unset so the pane gets colours.
  static std::string jobctl(const std::string& args) {
    return std::string("env -u NO_COLOR TERM=xterm-256color ") + JOBCTL_BINARY +
           " --addr 127.0.0.1:" + std::to_string(stack_->grpc_port()) + " " + args;
  }

  static inline bool have_tmux_ = false;
  static std::unique_ptr<GatewayStack> stack_;
};
std::unique_ptr<GatewayStack> JobctlScreen::stack_;

constexpr char kTenHosts[] = "101,102,103,104,105,106,107,108,109,110";

// The summary line's counts ("10 hosts: 9 running, 1 failed") and its elapsed text.
bool summary_of(const std::string& screen, std::string* counts, std::string* elapsed) {
  std::smatch m;
  static const std::regex summary("(10 hosts:[^|\n]*) \\| elapsed ([^\n]*)");
  if (!std::regex_search(screen, m, summary)) return false;
  *counts = m[1];
  *elapsed = m[2];
  return true;
}

TEST_F(JobctlScreen, ExecWatchTicksPutsTheFailedHostFirstInRedAndEndsWithTheSummary) {
  Pane pane(jobctl(std::string("exec -c ") +
                   quoted("sleep 1; [ $JOB_HOST_ID = 105 ] && exit 3; sleep 4; true") +
                   " --host-ids " + kTenHosts + " --watch"));
  ASSERT_TRUE(pane.started());
  ASSERT_TRUE(pane.wait_for("status: running", std::chrono::seconds(20))) << pane.screen();

  // Ticking: while the job runs and the host counts stay the same (no event), elapsed moves.
  std::string first_counts, first_elapsed, ticked;
  bool ticking = wait_until(
      [&] {
        std::string screen = pane.screen(), counts, elapsed;
        if (!has(screen, "status: running") || !summary_of(screen, &counts, &elapsed) ||
            elapsed == "-") {
          return false;
        }
        if (counts != first_counts) {
          first_counts = counts;
          first_elapsed = elapsed;
          return false;
        }
        ticked = screen;
        return elapsed != first_elapsed;
      },
      std::chrono::seconds(15), std::chrono::milliseconds(100));
  EXPECT_TRUE(ticking) << "elapsed stood at " << first_elapsed << " for " << first_counts << "\n"
                       << pane.screen();

  // The failed host, while the others still run: first row, in red.
  ASSERT_TRUE(wait_until(
      [&] {
        auto screen = pane.screen();
        return has(screen, "nonzero_exit_code") && has(screen, "status: running");
      },
      std::chrono::seconds(20), std::chrono::milliseconds(50)))
      << pane.screen();
  const std::string failing = pane.screen(true);
  const auto coloured = lines_of(failing);
  std::size_t header = 0;
  while (header < coloured.size() && !has(coloured[header], "HOST    ADDRESS")) ++header;
  ASSERT_LT(header + 1, coloured.size()) << pane.screen(true);
  const std::string& row = coloured[header + 1];
  EXPECT_TRUE(has(row, "105")) << row;
  EXPECT_TRUE(has(row, "nonzero_exit_code")) << row;
  EXPECT_LT(row.find("\x1b[31m"), row.find("105")) << row;
  EXPECT_TRUE(has(pane.screen(true), "\x1b[33mrunning")) << pane.screen(true);

  // The final frame: every host, the failed one first, the summary, and jobctl's exit code 1.
  ASSERT_TRUE(pane.wait_for("jobctl exit", std::chrono::seconds(30))) << pane.screen();
  const std::string final_screen = pane.screen();
  EXPECT_TRUE(has(final_screen, "status: failed")) << final_screen;
  EXPECT_TRUE(has(final_screen, "10 hosts: 9 success, 1 failed | elapsed ")) << final_screen;
  EXPECT_TRUE(has(final_screen, "[###########################xxx] 10/10 done")) << final_screen;
  EXPECT_TRUE(has(final_screen, "jobctl exit 1")) << final_screen;
  const auto rows = lines_of(final_screen);
  std::size_t at = 0;
  while (at < rows.size() && !has(rows[at], "HOST    ADDRESS")) ++at;
  ASSERT_LT(at + 10, rows.size()) << final_screen;
  EXPECT_EQ(rows[at + 1].substr(0, 3), "105") << final_screen;
  for (std::size_t i = at + 2; i <= at + 10; ++i) EXPECT_TRUE(has(rows[i], "success")) << rows[i];
  EXPECT_FALSE(has(final_screen, "more hosts")) << final_screen;
  // Ticks must not leave stale frames behind: the table appears once.
  EXPECT_EQ(final_screen.find("HOST    ADDRESS"), final_screen.rfind("HOST    ADDRESS"));
  ::testing::Test::RecordProperty("final_screen", final_screen);
  std::printf(
      "---- live table ticking:\n%s---- one host failed (with its SGR colours):\n%s"
      "---- final frame:\n%s",
      ticked.c_str(), failing.c_str(), final_screen.c_str());
}

TEST_F(JobctlScreen, TransferWatchShowsEachHostsPercent) {
  // A 3 MB file on host 101, copied to every host at 1 MB/s: about 3 s of visible progress.
  auto made = jobgw::testing::execute(
      stack_->stub(), jobgw::testing::script_request(
                          "mkdir -p data && head -c 3000000 /dev/zero > data/big.bin", {101}));
  ASSERT_TRUE(made.status.ok()) << made.status.error_message();
  auto done = jobgw::testing::watch_to_end(stack_->stub(), made.ref.job_instance_id());
  ASSERT_TRUE(done.status.ok()) << done.status.error_message();

  Pane pane(jobctl(std::string("transfer 101:/data/big.bin --to /tmp/in --download-limit 1") +
                   " --host-ids " + kTenHosts + " --watch"));
  ASSERT_TRUE(pane.started());
  static const std::regex moving("\n1[01][0-9] .*running .* [0-9]{1,2}% [0-9.]+ ?[KMG]?B/s");
  std::string seen;
  EXPECT_TRUE(wait_until(
      [&] {
        seen = pane.screen();
        return std::regex_search(seen, moving);
      },
      std::chrono::seconds(20), std::chrono::milliseconds(50)))
      << "no running host with a percent:\n"
      << seen;
  ASSERT_TRUE(pane.wait_for("jobctl exit", std::chrono::seconds(30))) << pane.screen();
  const std::string final_screen = pane.screen();
  EXPECT_TRUE(has(final_screen, "10 hosts: 10 success | elapsed ")) << final_screen;
  EXPECT_TRUE(has(final_screen, "EXIT  ELAPSED  PROGRESS")) << final_screen;
  int complete = 0;
  for (const auto& line : lines_of(final_screen)) complete += has(line, " 100% ") ? 1 : 0;
  EXPECT_EQ(complete, 10) << final_screen;
  EXPECT_TRUE(has(final_screen, "jobctl exit 0")) << final_screen;
  std::printf("---- transfer while running:\n%s---- final frame:\n%s", seen.c_str(),
              final_screen.c_str());
}

TEST_F(JobctlScreen, CtrlCLeavesTheJobRunningAndSaysHowToWatchOrTerminateIt) {
  Pane pane(jobctl("exec -c 'sleep 60' --host-ids 101 --watch"));
  ASSERT_TRUE(pane.started());
  ASSERT_TRUE(pane.wait_for("1 host: 1 running", std::chrono::seconds(20))) << pane.screen();
  std::smatch id;
  const std::string before = pane.screen();
  ASSERT_TRUE(std::regex_search(before, id, std::regex("job ([0-9]+) step"))) << before;
  ASSERT_TRUE(pane.keys("C-c"));
  ASSERT_TRUE(pane.wait_for("jobctl exit", std::chrono::seconds(20))) << pane.screen();
  const std::string screen = pane.screen();
  const std::string flags =
      " --addr 127.0.0.1:" + std::to_string(stack_->grpc_port()) + " --scope biz:1 " + id[1].str();
  EXPECT_TRUE(has(screen, "\njobctl: interrupted; job " + id[1].str() + " is still running on JOB"))
      << screen;
  EXPECT_TRUE(has(screen, "watch it again:  jobctl watch" + flags)) << screen;
  EXPECT_TRUE(has(screen, "terminate it:    jobctl terminate" + flags)) << screen;
  EXPECT_TRUE(has(screen, "jobctl exit 130")) << screen;
  std::printf("---- after Ctrl-C:\n%s", screen.c_str());
  // It did run on: jobgw still reports it running; then it is stopped as the note says.
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::TerminateJobRequest stop;
  stop.mutable_scope()->set_id("1");
  stop.set_job_instance_id(std::stoll(id[1].str()));
  v1::TerminateJobResponse stopped;
  EXPECT_TRUE(stack_->stub().TerminateJob(&context, stop, &stopped).ok());
}

}  // namespace
}  // namespace jobgw::client
