#include "core/base/log_throttle.h"

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <optional>
#include <utility>

namespace jobgw::core {
namespace {

constexpr std::string_view kOtherKind = "other";

// "10", "2.5": the span the summary covers, in seconds.
std::string seconds_text(std::chrono::milliseconds span) {
  const auto ms = span.count();
  std::string out = std::to_string(ms / 1000);
  const auto tenths = (ms % 1000) / 100;
  if (tenths != 0) out += "." + std::to_string(tenths);
  return out;
}

}  // namespace

struct LogThrottle::State : std::enable_shared_from_this<LogThrottle::State> {
  struct Kind {
    std::uint64_t seen = 0;
    std::uint64_t suppressed = 0;
  };

  State(Scheduler& scheduler, std::string what, LogThrottleConfig config, Sink sink)
      : scheduler(scheduler),
        what(std::move(what)),
        config(config),
        sink(sink ? std::move(sink) : [](const std::string& line) { spdlog::warn("{}", line); }) {}

  // The summary of the open interval, or nothing when it suppressed nothing; closes it.
  std::optional<std::string> close_locked(Scheduler::Clock::time_point now) {
    if (!open) return std::nullopt;
    open = false;
    if (timer) {
      timer->cancel();
      timer.reset();
    }
    if (suppressed_in_interval == 0) {
      kinds.clear();
      return std::nullopt;
    }
    const auto end = std::min(now, started + config.interval);
    const auto span = std::chrono::duration_cast<std::chrono::milliseconds>(end - started);
    std::string by_kind;
    for (const auto& [name, kind] : kinds) {
      if (kind.suppressed == 0) continue;
      if (!by_kind.empty()) by_kind += ' ';
      by_kind += name + "=" + std::to_string(kind.suppressed);
    }
    const std::string count = std::to_string(suppressed_in_interval);
    std::string line = "event=log_suppressed count=" + count + " detail=\"suppressed " + count +
                       " more " + what + " in the last " + seconds_text(span) + " s (" + by_kind +
                       ")\"";
    kinds.clear();
    suppressed_in_interval = 0;
    return line;
  }

  void arm_locked(Scheduler::Clock::time_point now) {
    // Rounded up, so the summary it writes spans the whole interval.
    const auto due = std::chrono::ceil<std::chrono::milliseconds>(started + config.interval - now);
    std::weak_ptr<State> weak = weak_from_this();
    const std::uint64_t interval_id = generation;
    timer = scheduler.after(std::max(due, std::chrono::milliseconds(0)), [weak, interval_id] {
      auto self = weak.lock();
      if (!self) return;
      std::optional<std::string> line;
      {
        std::lock_guard<std::mutex> lock(self->mu);
        // A later interval has its own timer; this one's summary already came out.
        if (!self->open || self->generation != interval_id) return;
        self->timer.reset();
        line = self->close_locked(self->scheduler.now());
      }
      if (line) self->sink(*line);
    });
  }

  Scheduler& scheduler;
  const std::string what;
  const LogThrottleConfig config;
  const Sink sink;

  std::mutex mu;
  bool open = false;
  std::uint64_t generation = 0;
  Scheduler::Clock::time_point started;
  std::map<std::string, Kind, std::less<>> kinds;
  std::uint64_t suppressed_in_interval = 0;
  std::uint64_t suppressed_total = 0;
  std::shared_ptr<Timer> timer;
};

LogThrottle::LogThrottle(Scheduler& scheduler, std::string what, LogThrottleConfig config,
                         Sink sink)
    : state_(std::make_shared<State>(scheduler, std::move(what), config, std::move(sink))) {}

LogThrottle::~LogThrottle() { flush(); }

bool LogThrottle::admit(std::string_view kind) {
  State& s = *state_;
  std::optional<std::string> summary;
  bool log = true;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    const auto now = s.scheduler.now();
    if (s.open && now - s.started >= s.config.interval) summary = s.close_locked(now);
    if (!s.open) {
      s.open = true;
      s.started = now;
      ++s.generation;
    }
    auto it = s.kinds.find(kind);
    if (it == s.kinds.end()) {
      if (s.kinds.size() >= s.config.max_kinds) kind = kOtherKind;
      it = s.kinds.try_emplace(std::string(kind)).first;
    }
    State::Kind& k = it->second;
    ++k.seen;
    if (k.seen > s.config.lines_per_kind) {
      log = false;
      ++k.suppressed;
      ++s.suppressed_in_interval;
      ++s.suppressed_total;
      if (!s.timer) s.arm_locked(now);
    }
  }
  // Before the caller's own line, so the log reads in order.
  if (summary) s.sink(*summary);
  return log;
}

void LogThrottle::flush() {
  State& s = *state_;
  std::optional<std::string> summary;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    summary = s.close_locked(s.scheduler.now());
  }
  if (summary) s.sink(*summary);
}

std::uint64_t LogThrottle::suppressed_total() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->suppressed_total;
}

}  // namespace jobgw::core
