#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/base/scheduler.h"

namespace jobgw::core {

struct LogThrottleConfig {
  // Each kind may log this many lines per interval; the rest are counted and summed up in one
  // line when the interval ends.
  std::chrono::milliseconds interval{10000};
  std::size_t lines_per_kind = 5;
  // Kinds beyond this many in one interval are counted under "other", so a caller that passes
  // an unbounded set by mistake cannot grow the table without end.
  std::size_t max_kinds = 32;
};

// Bounds the log lines a client can make at will (a forged callback, a refused call, a malformed
// request): every one still counts in the metrics, but a log line is written only for the first
// few of each kind per interval, so flooding jobgw cannot fill its disk. What was left out comes
// out as one summary line per interval:
//   event=log_suppressed count=1234 detail="suppressed 1234 more callback refusals in the last
//   10 s (malformed=34 refused=1200)"
// The summary is written when the interval ends (a timer on the scheduler, armed only once a
// line was suppressed: an idle throttle holds no timer), on the first admit() after it ended,
// on flush() and on destruction, whichever comes first. Thread-safe; the scheduler must outlive
// the throttle.
class LogThrottle {
 public:
  // Gets each summary line; the default writes it with spdlog at warn level.
  using Sink = std::function<void(const std::string& line)>;

  // `what` names the lines in the summary, plural: "callback refusals".
  LogThrottle(Scheduler& scheduler, std::string what, LogThrottleConfig config = {},
              Sink sink = nullptr);
  // Writes the summary of an unfinished interval.
  ~LogThrottle();
  LogThrottle(const LogThrottle&) = delete;
  LogThrottle& operator=(const LogThrottle&) = delete;

  // Whether the caller should log this occurrence of `kind` (true), or leave it to the summary
  // (false: it has been counted). `kind` must come from a small fixed set, never from the
  // request.
  bool admit(std::string_view kind);
  // Writes the summary of what the current interval suppressed (nothing when it suppressed
  // nothing) and starts a fresh interval.
  void flush();
  // Lines suppressed since construction, summed up or not yet.
  std::uint64_t suppressed_total() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace jobgw::core
