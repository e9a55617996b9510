#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace jobgw::testing {

// A child process started with fork/exec in its own process group. stdout and stderr go to a
// log file. The destructor kills the whole group (SIGTERM, then SIGKILL after a grace period)
// and reaps the child.
class ChildProcess {
 public:
  // Starts `binary` with `args` (argv[0] is the binary itself). Throws std::runtime_error when
  // the fork fails; an exec failure shows up as an exit status of 127.
  ChildProcess(const std::string& binary, const std::vector<std::string>& args,
               const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // True while the child has not exited (reaps it when it has).
  bool running();
  // Sends `sig` to the whole process group.
  void signal_group(int sig);
  // Kills the group (SIGTERM, then SIGKILL after `grace`) and returns the wait status.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));
  // Waits up to `timeout` for the child to exit by itself; returns the wait status or -1.
  int wait_exit(std::chrono::milliseconds timeout);
  // The content of the log file so far.
  std::string log() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  bool stopped_ = false;
  int wait_status_ = 0;
  std::string log_path_;
};

// Polls `path` until it holds a port number (a whole line of digits) and returns it, or returns
// 0 after `timeout`.
int wait_for_port_file(const std::string& path, std::chrono::milliseconds timeout);

}  // namespace jobgw::testing
