#include "server/job_catalog.h"

#include <utility>

#include "core/watch/watch_hub.h"

namespace jobgw::server {
namespace {

std::string scope_type(const core::Scope& scope) {
  return scope.type.empty() ? std::string("biz") : scope.type;
}

}  // namespace

void SubmitRecords::put(const core::Scope& scope, std::int64_t job_instance_id,
                        SubmitRecord record) {
  Key key{scope_type(scope), scope.id, job_instance_id};
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = records_.insert_or_assign(key, std::move(record));
  if (!inserted) return;
  order_.push_back(std::move(key));
  while (order_.size() > capacity_) {
    records_.erase(order_.front());
    order_.pop_front();
  }
}

SubmitRecord SubmitRecords::get(const core::Scope& scope, std::int64_t job_instance_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = records_.find(Key{scope_type(scope), scope.id, job_instance_id});
  return it == records_.end() ? SubmitRecord{} : it->second;
}

LocalJobCatalog::LocalJobCatalog(const core::WatchHub& hub, Followers followers)
    : hub_(hub), followers_(std::move(followers)) {}

void LocalJobCatalog::submitted(const core::Scope& scope, std::int64_t job_instance_id,
                                SubmitRecord record) {
  records_.put(scope, job_instance_id, std::move(record));
}

void LocalJobCatalog::list(std::function<void(core::Result<std::vector<CatalogEntry>>)> done) {
  std::vector<CatalogEntry> entries;
  for (auto& job : hub_.list()) {
    CatalogEntry entry;
    entry.scope = job.scope;
    entry.job_instance_id = job.job_instance_id;
    entry.snapshot = std::move(job.snapshot);
    SubmitRecord record = records_.get(job.scope, job.job_instance_id);
    entry.caller = std::move(record.caller);
    entry.job_operator = std::move(record.job_operator);
    entry.name = std::move(record.name);
    entry.first_seen_ms = job.first_seen_ms;
    entry.subscribers = job.subscribers;
    if (followers_) entry.subscribers += followers_(job.scope, job.job_instance_id);
    entries.push_back(std::move(entry));
  }
  done(std::move(entries));
}

}  // namespace jobgw::server
