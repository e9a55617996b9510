#pragma once

#include <sys/types.h>

#include <boost/asio.hpp>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "jobsim/job_store.h"
#include "jobsim/sandbox.h"

namespace jobsim {

struct ScriptRunnerOptions {
  size_t max_procs = 32;
  int kill_grace_ms = 2000;  // SIGTERM -> SIGKILL on terminate
  int exit_drain_ms = 200;   // after the script exits, wait this long for its output pipe
};

// Runs script steps for real: one child process per host, in its own process group, with cwd =
// the host's sandbox. At most max_procs run at once; other hosts wait (status 5). Output is read
// through a pipe on the io_context, exits are noticed through SIGCHLD. Everything the runner
// owns is touched only on its strand.
class ScriptRunner {
 public:
  ScriptRunner(boost::asio::io_context& ioc, JobStore& store, const Sandboxes& sandboxes,
               ScriptRunnerOptions options);
  ~ScriptRunner();

  void start(const std::shared_ptr<Job>& job);
  void terminate(const std::shared_ptr<Job>& job);
  size_t running() const { return running_count_.load(); }
  void shutdown();

 private:
  struct Proc;
  void pump();
  void spawn(const std::shared_ptr<Job>& job, size_t idx);
  void read_more(const std::shared_ptr<Proc>& p);
  void reap();
  void wait_signal();
  void maybe_finish(const std::shared_ptr<Proc>& p);
  std::string interpreter(int language) const;
  // The file to run: the script itself, or a wrapper around it for plan shell steps.
  std::string script_file(const std::shared_ptr<Job>& job);
  static bool wrapped(const Job& job);
  void read_vars(const std::shared_ptr<Job>& job, size_t idx);

  boost::asio::io_context& ioc_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  JobStore& store_;
  const Sandboxes& sandboxes_;
  ScriptRunnerOptions options_;
  boost::asio::signal_set sigchld_;
  std::deque<std::pair<std::shared_ptr<Job>, size_t>> queue_;
  std::map<pid_t, std::shared_ptr<Proc>> procs_;
  // By step instance id: a plan's steps share their job's id.
  std::map<int64_t, std::string> script_files_;  // step id -> the file to run
  std::map<int64_t, size_t> outstanding_;        // step id -> hosts not yet finished here
  std::atomic<size_t> running_count_{0};
  std::string bash_, python_, perl_;
};

}  // namespace jobsim
