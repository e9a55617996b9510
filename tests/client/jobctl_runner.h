#pragma once

// Runs the real jobctl binary (JOBCTL_BINARY) as a user or a script would: stdout and stderr
// captured apart (stdout a file: jobctl's plain-line mode), the exit code kept.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace jobgw::client::testing {

struct JobctlRun {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline bool has_text(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// jobctl started in the background with `args` (after --addr `addr` when not empty); its output
// is read while it runs.
class JobctlProcessRun {
 public:
  JobctlProcessRun(const std::vector<std::string>& args, const std::string& addr)
      : dir_("jobctl-run"), out_(dir_.file("out")), err_(dir_.file("err")) {
    std::vector<std::string> sh = {
        "-c", "exec \"$0\" \"$@\" </dev/null >'" + out_ + "' 2>'" + err_ + "'", JOBCTL_BINARY};
    if (!addr.empty()) sh.insert(sh.end(), {"--addr", addr});
    sh.insert(sh.end(), args.begin(), args.end());
    child_ = std::make_unique<jobgw::testing::ChildProcess>("/bin/sh", sh, dir_.file("sh.log"));
  }

  // Polls stdout until it holds `text`; false when jobctl exited or `timeout` passed first.
  bool wait_for_output(const std::string& text, std::chrono::seconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (has_text(slurp_file(out_), text)) return true;
      if (!child_->running()) return has_text(slurp_file(out_), text);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  std::string out() const { return slurp_file(out_); }

  JobctlRun finish(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    JobctlRun r;
    int status = child_->wait_exit(timeout);
    if (status == -1) {
      child_->stop();
      ADD_FAILURE() << "jobctl did not finish within " << timeout.count() << "s";
    } else if (WIFEXITED(status)) {
      r.code = WEXITSTATUS(status);
    }
    r.out = slurp_file(out_);
    r.err = slurp_file(err_);
    return r;
  }

 private:
  jobgw::testing::TempDir dir_;
  std::string out_, err_;
  std::unique_ptr<jobgw::testing::ChildProcess> child_;
};

// Runs jobctl to its end.
inline JobctlRun run_jobctl(const std::vector<std::string>& args, const std::string& addr,
                            std::chrono::seconds timeout = std::chrono::seconds(60)) {
  return JobctlProcessRun(args, addr).finish(timeout);
}

}  // namespace jobgw::client::testing
