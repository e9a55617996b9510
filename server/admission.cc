#include "server/admission.h"

#include "server/server_metrics.h"

namespace jobgw::server {

Admission::Admission(AdmissionLimits limits, ServerMetrics* metrics)
    : limits_(limits), metrics_(metrics) {
  // Both series exist from the start, so dashboards and alerts see them at 0.
  if (metrics_ != nullptr) {
    metrics_->admission_changed(limit_key(Kind::kStream), 0);
    metrics_->admission_changed(limit_key(Kind::kJobCall), 0);
  }
}

std::atomic<std::size_t>& Admission::counter(Kind kind) {
  return kind == Kind::kStream ? streams_ : job_calls_;
}

const std::atomic<std::size_t>& Admission::counter(Kind kind) const {
  return kind == Kind::kStream ? streams_ : job_calls_;
}

std::size_t Admission::limit(Kind kind) const {
  return kind == Kind::kStream ? limits_.max_streams : limits_.max_inflight_job_calls;
}

const char* Admission::limit_key(Kind kind) {
  return kind == Kind::kStream ? "limits.max_streams" : "limits.max_inflight_job_calls";
}

bool Admission::admit(Kind kind) {
  std::atomic<std::size_t>& count = counter(kind);
  const std::size_t max = limit(kind);
  std::size_t current = count.load();
  // A compare-exchange rather than increment-then-check, so a burst of refused calls never
  // pushes the count over the limit, not even for a moment.
  do {
    if (current >= max) {
      if (metrics_ != nullptr) metrics_->admission_rejected(limit_key(kind));
      return false;
    }
  } while (!count.compare_exchange_weak(current, current + 1));
  if (metrics_ != nullptr) metrics_->admission_changed(limit_key(kind), +1);
  return true;
}

void Admission::release(Kind kind) {
  counter(kind).fetch_sub(1);
  if (metrics_ != nullptr) metrics_->admission_changed(limit_key(kind), -1);
}

std::size_t Admission::in_use(Kind kind) const { return counter(kind).load(); }

std::string Admission::refusal(Kind kind) const {
  const char* what = kind == Kind::kStream ? "WatchStatus streams" : "unary calls to JOB";
  return "jobgw is overloaded: " + std::to_string(limit(kind)) + " " + what + " in progress (" +
         limit_key(kind) + "); retry with backoff or use another replica";
}

}  // namespace jobgw::server
