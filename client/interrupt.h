#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "client/cli_args.h"

namespace jobgw::client {

// While one is alive, Ctrl-C (SIGINT) no longer kills jobctl: `on_interrupt` runs once, on a
// thread of its own (a signal handler may not take the locks that cancelling a stream takes),
// so a watch can end its stream and tell the user what still runs. The previous SIGINT
// disposition comes back on destruction. One at a time per process.
class InterruptWatch {
 public:
  explicit InterruptWatch(std::function<void()> on_interrupt);
  ~InterruptWatch();
  InterruptWatch(const InterruptWatch&) = delete;
  InterruptWatch& operator=(const InterruptWatch&) = delete;

  bool interrupted() const { return interrupted_.load(); }

 private:
  std::function<void()> on_interrupt_;
  std::atomic<bool> interrupted_{false};
  int pipe_[2] = {-1, -1};
  bool installed_ = false;
  std::thread thread_;
};

// What jobctl prints on stderr when Ctrl-C ended a watch of `job_id` (`follow`: logs -f): the
// job goes on at JOB (unless it is known to have finished), and the exact commands to see it
// again or terminate it, with the --addr, --scope and TLS flags this run used.
std::string interrupted_note(const CliCommand& command, std::int64_t job_id, bool job_finished,
                             bool follow);

// The flags another jobctl needs to reach the same job: where jobgw is, and the scope (left
// out when it is biz:1 from no flag or variable, unless `default_scope`), each with a leading
// space.
std::string connection_flags(const CliCommand& command, bool default_scope = true);

// jobctl's exit code after Ctrl-C ended a watch: 128 + SIGINT, as a shell reports it.
inline constexpr int kExitInterrupted = 130;

}  // namespace jobgw::client
