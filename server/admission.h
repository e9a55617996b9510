#pragma once

#include <atomic>
#include <cstddef>
#include <string>

namespace jobgw::server {

class ServerMetrics;

// The overload limits (limits.max_streams, limits.max_inflight_job_calls). Beyond them a new
// call is refused at once with RESOURCE_EXHAUSTED rather than queued: work already admitted keeps
// its latency, and callers learn quickly to back off or go to another replica.
struct AdmissionLimits {
  // WatchStatus streams open at once.
  std::size_t max_streams = 10000;
  // Unary RPCs in progress at once, each waiting on at most two sequential JOB calls. Kept below
  // the JOB client's request queue (1024) plus its connections, so admitted calls never overflow
  // that queue.
  std::size_t max_inflight_job_calls = 1000;
};

// Counts admitted work per limit; thread-safe and lock-free. admit() either takes a slot or
// refuses; every taken slot is given back with release() exactly once.
class Admission {
 public:
  enum class Kind { kStream, kJobCall };

  // `metrics` may be null; when set it tracks the slots in use and counts every refusal.
  explicit Admission(AdmissionLimits limits, ServerMetrics* metrics = nullptr);
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  // True when a slot was taken.
  bool admit(Kind kind);
  void release(Kind kind);

  std::size_t in_use(Kind kind) const;
  std::size_t limit(Kind kind) const;
  // The config key of the limit: "limits.max_streams" or "limits.max_inflight_job_calls".
  static const char* limit_key(Kind kind);
  // Why a call was refused, naming the limit and its value, for the RESOURCE_EXHAUSTED status.
  std::string refusal(Kind kind) const;

 private:
  std::atomic<std::size_t>& counter(Kind kind);
  const std::atomic<std::size_t>& counter(Kind kind) const;

  const AdmissionLimits limits_;
  ServerMetrics* metrics_;
  std::atomic<std::size_t> streams_{0};
  std::atomic<std::size_t> job_calls_{0};
};

}  // namespace jobgw::server
