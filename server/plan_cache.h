#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "core/base/result.h"
#include "core/job/job_client.h"
#include "core/job/plan_requests.h"

namespace jobgw::server {

// Plans ExecuteJobPlan checks variables against, kept for `ttl` after JOB answered: a service
// launching one plan many times a minute then reads it from JOB once per ttl, and a plan edited
// in JOB is seen within ttl. Keyed by scope, plan and operator, since JOB decides per operator
// what they may read. Thread-safe (completions arrive on any io thread).
class PlanCache {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using Done = std::function<void(core::Result<core::PlanDetail>)>;

  PlanCache(core::JobClient& job, std::chrono::milliseconds ttl, Clock now = {});

  // The plan, from the cache while fresh (then `done` runs before get returns), else read from
  // JOB (then `done` runs on an io thread). Errors are not kept.
  void get(const core::PlanDetailRequest& request, core::Deadline deadline, Done done);

 private:
  using Key = std::tuple<std::string, std::string, std::int64_t, std::string>;
  struct Entry {
    core::PlanDetail plan;
    std::chrono::steady_clock::time_point read_at;
  };
  // Bounds the map: every expired entry goes when it reaches this size.
  static constexpr std::size_t kPruneAt = 1024;

  core::JobClient& job_;
  const std::chrono::milliseconds ttl_;
  const Clock now_;
  std::mutex mu_;
  std::map<Key, Entry> plans_;
};

}  // namespace jobgw::server
