#include "server/server_metrics.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "api/status_names.h"

namespace jobgw::server {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

constexpr std::string_view kOther = "other";

template <std::size_t N>
std::string known_label(const std::string& value, const std::array<std::string_view, N>& known) {
  for (auto k : known) {
    if (value == k) return value;
  }
  return std::string(kOther);
}

// The index (grpc::StatusCode) of a code's canonical gRPC name as the pipeline reports it, or -1.
int canonical_code(const std::string& code) {
  for (int c = grpc::StatusCode::OK; c <= grpc::StatusCode::UNAUTHENTICATED; ++c) {
    if (code == api::grpc_code_name(static_cast<grpc::StatusCode>(c))) return c;
  }
  return -1;
}

// A status code's canonical gRPC name, in any letter case; anything else is "other".
std::string code_label(const std::string& code) {
  std::string upper = code;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (int c = grpc::StatusCode::OK; c <= grpc::StatusCode::UNAUTHENTICATED; ++c) {
    if (upper == api::grpc_code_name(static_cast<grpc::StatusCode>(c))) return upper;
  }
  return std::string(kOther);
}

constexpr std::array<std::string_view, 6> kCallbackOutcomes{
    "accepted", "unknown_job", "malformed", "method_not_allowed", "not_found", "refused"};
constexpr std::array<std::string_view, 4> kIdempotentOutcomes{"submitted", "replayed", "joined",
                                                              "conflict"};
// The config keys of the overload limits (server/admission.h).
constexpr std::array<std::string_view, 2> kAdmissionLimits{"limits.max_streams",
                                                           "limits.max_inflight_job_calls"};
constexpr std::array<std::string_view, 6> kAuthRefusals{
    "missing_token", "bad_token", "unknown_certificate", "operation", "scope", "operator"};
constexpr std::array<std::string_view, 2> kReloadOutcomes{"ok", "failed"};
constexpr std::array<std::string_view, 2> kCallerLimits{"submit_rate", "streams"};
// The RPCs of proto/jobgw/v1/job_gateway.proto, by the names the pipeline reports.
constexpr std::array<std::string_view, 11> kUnaryMethods{
    "ExecuteScript",  "TransferFile", "GetIpLogs",  "GetJobStatus", "TerminateJob", "ListJobs",
    "ExecuteJobPlan", "ListJobPlans", "GetJobPlan", "OperateStep",  "GetJobOutputs"};
constexpr std::array<std::string_view, 2> kStreamMethods{"WatchStatus", "FollowLogs"};

// How long a stream stays open: a short job's watch (seconds) to a follow kept open across a
// working day.
const prometheus::Histogram::BucketBoundaries& stream_buckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets{
      0.1, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400};
  return kBuckets;
}

}  // namespace

ServerMetrics::ServerMetrics(core::Metrics& core)
    : core_(core),
      rpc_requests_(BuildCounter()
                        .Name("jobgw_rpc_requests_total")
                        .Help("Calls finished (gRPC and the HTTP face; unary and streams), by "
                              "method and status code")
                        .Register(*core.registry())),
      rpc_duration_(BuildHistogram()
                        .Name("jobgw_rpc_duration_seconds")
                        .Help("Unary call duration from start to status, by method and code "
                              "(streams: jobgw_stream_duration_seconds)")
                        .Register(*core.registry())),
      stream_duration_(BuildHistogram()
                           .Name("jobgw_stream_duration_seconds")
                           .Help("How long WatchStatus and FollowLogs streams (gRPC and HTTP) "
                                 "stayed open, from start to status, by method")
                           .Register(*core.registry())),
      callbacks_(BuildCounter()
                     .Name("jobgw_callbacks_total")
                     .Help("JOB callback requests received, by outcome")
                     .Register(*core.registry())),
      idempotent_submits_(BuildCounter()
                              .Name("jobgw_idempotent_submits_total")
                              .Help("Submits that named a request_id, by outcome")
                              .Register(*core.registry())),
      resumed_jobs_(BuildCounter()
                        .Name("jobgw_resumed_jobs_total")
                        .Help("Unfinished jobs read from the state store at startup and watched "
                              "again")
                        .Register(*core.registry())
                        .Add({})),
      admission_in_use_(BuildGauge()
                            .Name("jobgw_admission_in_use")
                            .Help("Calls holding a slot of an overload limit, by limit key")
                            .Register(*core.registry())),
      admission_rejections_(BuildCounter()
                                .Name("jobgw_admission_rejections_total")
                                .Help("Calls refused with RESOURCE_EXHAUSTED at an overload "
                                      "limit, by limit key")
                                .Register(*core.registry())),
      auth_refusals_(BuildCounter()
                         .Name("jobgw_auth_refusals_total")
                         .Help("Calls refused UNAUTHENTICATED or PERMISSION_DENIED, by reason")
                         .Register(*core.registry())),
      credentials_reloads_(BuildCounter()
                               .Name("jobgw_credentials_reloads_total")
                               .Help("Credentials file reloads, by outcome (a failed one keeps "
                                     "the previous credentials)")
                               .Register(*core.registry())),
      caller_limit_rejections_(BuildCounter()
                                   .Name("jobgw_caller_limit_rejections_total")
                                   .Help("Calls refused with RESOURCE_EXHAUSTED at a per-caller "
                                         "limit, by limit")
                                   .Register(*core.registry())),
      redis_up_(BuildGauge()
                    .Name("jobgw_redis_up")
                    .Help("1 while the Redis that replicas share state on answers, else 0 "
                          "(exported only with state.redis_url)")
                    .Register(*core.registry())),
      log_followers_(BuildGauge()
                         .Name("jobgw_log_followers")
                         .Help("FollowLogs streams (gRPC and HTTP) following logs now")
                         .Register(*core.registry())
                         .Add({})),
      log_followed_steps_(
          BuildGauge()
              .Name("jobgw_log_followed_steps")
              .Help("steps whose logs jobgw holds for followers now (followed or kept for resumes)")
              .Register(*core.registry())
              .Add({})),
      log_held_bytes_(BuildGauge()
                          .Name("jobgw_log_held_bytes")
                          .Help("log bytes held for followers, every step together (capped by "
                                "follow.max_held_bytes)")
                          .Register(*core.registry())
                          .Add({})),
      log_reads_(BuildCounter()
                     .Name("jobgw_log_reads_total")
                     .Help("log reads of JOB for followers (one per followed step and "
                           "follow.interval, however many follow), by outcome")
                     .Register(*core.registry())),
      http_streams_(BuildGauge()
                        .Name("jobgw_http_streams")
                        .Help("event streams (text/event-stream) open on http.listen")
                        .Register(*core.registry())
                        .Add({})) {
  log_reads_.Add({{"outcome", "ok"}});
  log_reads_.Add({{"outcome", "error"}});
  // Every outcome is exported from the start at 0, so rate() and alerts see the series before
  // the first event.
  for (auto outcome : kCallbackOutcomes) callbacks_.Add({{"outcome", std::string(outcome)}});
  for (auto outcome : kIdempotentOutcomes) {
    idempotent_submits_.Add({{"outcome", std::string(outcome)}});
  }
  for (auto limit : kAdmissionLimits) {
    admission_rejections_.Add({{"limit", std::string(limit)}});
  }
  for (auto reason : kAuthRefusals) auth_refusals_.Add({{"reason", std::string(reason)}});
  for (auto outcome : kReloadOutcomes) {
    credentials_reloads_.Add({{"outcome", std::string(outcome)}});
  }
  for (auto limit : kCallerLimits) caller_limit_rejections_.Add({{"limit", std::string(limit)}});
  static_assert(kAdmissionLimits.size() == std::tuple_size_v<decltype(admission_in_use_by_limit_)>);
  static_assert(kCodes == grpc::StatusCode::UNAUTHENTICATED + 1);
  for (std::size_t i = 0; i < kAdmissionLimits.size(); ++i) {
    admission_in_use_by_limit_[i] =
        &admission_in_use_.Add({{"limit", std::string(kAdmissionLimits[i])}});
  }
  std::vector<std::string> codes;
  for (int c = grpc::StatusCode::OK; c <= grpc::StatusCode::UNAUTHENTICATED; ++c) {
    codes.emplace_back(api::grpc_code_name(static_cast<grpc::StatusCode>(c)));
  }
  auto calls_of = [&](std::string_view method) {
    MethodSeries series;
    series.method = method;
    for (std::size_t c = 0; c < codes.size() && c < kCodes; ++c) {
      series.calls[c] = &rpc_requests_.Add({{"method", std::string(method)}, {"code", codes[c]}});
    }
    return series;
  };
  // Latency is by method and code; only the OK series is made up front, the rest would be
  // hundreds of empty buckets.
  for (auto method : kUnaryMethods) {
    MethodSeries series = calls_of(method);
    series.ok_duration = &rpc_duration_.Add({{"method", std::string(method)}, {"code", "OK"}},
                                            core::Metrics::latency_buckets());
    methods_.push_back(series);
  }
  for (auto method : kStreamMethods) {
    MethodSeries series = calls_of(method);
    series.stream_duration =
        &stream_duration_.Add({{"method", std::string(method)}}, stream_buckets());
    methods_.push_back(series);
  }
}

const ServerMetrics::MethodSeries* ServerMetrics::method_series(const std::string& method) const {
  for (const auto& series : methods_) {
    if (series.method == method) return &series;
  }
  return nullptr;
}

void ServerMetrics::count_call(const std::string& method, const std::string& code) {
  const MethodSeries* series = method_series(method);
  const int c = canonical_code(code);
  if (series != nullptr && c >= 0) {
    series->calls[static_cast<std::size_t>(c)]->Increment();
    return;
  }
  rpc_requests_
      .Add({{"method", core::Metrics::identifier_label(method)}, {"code", code_label(code)}})
      .Increment();
}

void ServerMetrics::rpc_finished(const std::string& method, const std::string& code,
                                 double seconds) {
  const MethodSeries* series = method_series(method);
  if (series != nullptr && series->ok_duration != nullptr && code == "OK") {
    series->calls[grpc::StatusCode::OK]->Increment();
    series->ok_duration->Observe(std::max(0.0, seconds));
    return;
  }
  // Failed calls, and anything outside the known sets: series found (or made) by their labels.
  prometheus::Labels labels{{"method", core::Metrics::identifier_label(method)},
                            {"code", code_label(code)}};
  rpc_requests_.Add(labels).Increment();
  rpc_duration_.Add(labels, core::Metrics::latency_buckets()).Observe(std::max(0.0, seconds));
}

void ServerMetrics::stream_finished(const std::string& method, const std::string& code,
                                    double seconds) {
  count_call(method, code);
  const MethodSeries* series = method_series(method);
  if (series != nullptr && series->stream_duration != nullptr) {
    series->stream_duration->Observe(std::max(0.0, seconds));
    return;
  }
  stream_duration_.Add({{"method", core::Metrics::identifier_label(method)}}, stream_buckets())
      .Observe(std::max(0.0, seconds));
}

void ServerMetrics::callback(const std::string& outcome) {
  callbacks_.Add({{"outcome", known_label(outcome, kCallbackOutcomes)}}).Increment();
}

void ServerMetrics::idempotent_submit(const std::string& outcome) {
  idempotent_submits_.Add({{"outcome", known_label(outcome, kIdempotentOutcomes)}}).Increment();
}

void ServerMetrics::resumed_jobs(std::size_t count) {
  resumed_jobs_.Increment(static_cast<double>(count));
}

void ServerMetrics::admission_changed(const std::string& limit, int delta) {
  for (std::size_t i = 0; i < kAdmissionLimits.size(); ++i) {
    if (limit == kAdmissionLimits[i]) {
      admission_in_use_by_limit_[i]->Increment(delta);
      return;
    }
  }
  admission_in_use_.Add({{"limit", known_label(limit, kAdmissionLimits)}}).Increment(delta);
}

void ServerMetrics::admission_rejected(const std::string& limit) {
  admission_rejections_.Add({{"limit", known_label(limit, kAdmissionLimits)}}).Increment();
}

void ServerMetrics::auth_refused(const std::string& reason) {
  auth_refusals_.Add({{"reason", known_label(reason, kAuthRefusals)}}).Increment();
}

void ServerMetrics::credentials_reload(const std::string& outcome) {
  credentials_reloads_.Add({{"outcome", known_label(outcome, kReloadOutcomes)}}).Increment();
}

void ServerMetrics::caller_limit_rejected(const std::string& limit) {
  caller_limit_rejections_.Add({{"limit", known_label(limit, kCallerLimits)}}).Increment();
}

void ServerMetrics::redis_up(bool up) { redis_up_.Add({}).Set(up ? 1 : 0); }

void ServerMetrics::log_follow(std::size_t followers, std::size_t steps, std::uint64_t reads,
                               std::uint64_t read_errors, std::size_t held_bytes) {
  log_held_bytes_.Set(static_cast<double>(held_bytes));
  log_followers_.Set(static_cast<double>(followers));
  log_followed_steps_.Set(static_cast<double>(steps));
  std::lock_guard<std::mutex> lock(log_mu_);
  // Counters only grow: add what happened since the last call.
  if (reads >= read_errors) {
    const std::uint64_t ok = reads - read_errors;
    const std::uint64_t ok_seen = log_reads_seen_ - log_read_errors_seen_;
    if (ok > ok_seen)
      log_reads_.Add({{"outcome", "ok"}}).Increment(static_cast<double>(ok - ok_seen));
  }
  if (read_errors > log_read_errors_seen_) {
    log_reads_.Add({{"outcome", "error"}})
        .Increment(static_cast<double>(read_errors - log_read_errors_seen_));
  }
  log_reads_seen_ = reads;
  log_read_errors_seen_ = read_errors;
}

void ServerMetrics::http_streams(std::size_t open) { http_streams_.Set(static_cast<double>(open)); }

}  // namespace jobgw::server
