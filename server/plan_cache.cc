#include "server/plan_cache.h"

#include <utility>

namespace jobgw::server {

PlanCache::PlanCache(core::JobClient& job, std::chrono::milliseconds ttl, Clock now)
    : job_(job),
      ttl_(ttl),
      now_(now ? std::move(now) : Clock([] { return std::chrono::steady_clock::now(); })) {}

void PlanCache::get(const core::PlanDetailRequest& request, core::Deadline deadline, Done done) {
  Key key{request.scope.type, request.scope.id, request.job_plan_id, request.operator_name};
  if (ttl_.count() > 0) {
    std::optional<core::PlanDetail> hit;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = plans_.find(key);
      if (it != plans_.end() && now_() - it->second.read_at < ttl_) hit = it->second.plan;
    }
    if (hit) {
      done(std::move(*hit));
      return;
    }
  }
  job_.get_job_plan_detail(
      request,
      [this, key = std::move(key), done = std::move(done)](core::Result<core::PlanDetail> plan) {
        if (plan && ttl_.count() > 0) {
          std::lock_guard<std::mutex> lock(mu_);
          const auto now = now_();
          if (plans_.size() >= kPruneAt) {
            for (auto it = plans_.begin(); it != plans_.end();) {
              it = now - it->second.read_at >= ttl_ ? plans_.erase(it) : std::next(it);
            }
          }
          plans_[key] = Entry{plan.value(), now};
        }
        done(std::move(plan));
      },
      deadline);
}

}  // namespace jobgw::server
