#include "core/submit/memory_submit_store.h"

#include <algorithm>

namespace jobgw::core {
namespace {

std::tuple<std::string, std::string, std::string> key_tuple(const IdempotencyKey& key) {
  return {key.caller, key.scope, key.request_id};
}

std::tuple<std::string, std::string, std::int64_t> job_tuple(const Scope& scope,
                                                             std::int64_t job_instance_id) {
  return {scope.type.empty() ? "biz" : scope.type, scope.id, job_instance_id};
}

}  // namespace

Result<std::optional<RememberedSubmit>> MemorySubmitStore::lookup(const IdempotencyKey& key,
                                                                  std::int64_t not_before_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = keys_.find(key_tuple(key));
  if (it == keys_.end() || it->second.submitted_ms < not_before_ms) {
    return std::optional<RememberedSubmit>();
  }
  return std::optional<RememberedSubmit>(it->second);
}

Result<void> MemorySubmitStore::record_submit(const SubmitRecord& record) {
  std::lock_guard<std::mutex> lock(mu_);
  if (record.key) {
    keys_[key_tuple(*record.key)] =
        RememberedSubmit{record.fingerprint, record.ref, record.submitted_ms};
  }
  unfinished_[job_tuple(record.scope, record.ref.job_instance_id)] =
      UnfinishedJob{Scope{record.scope.type.empty() ? "biz" : record.scope.type, record.scope.id},
                    record.ref.job_instance_id, record.submitted_ms};
  return {};
}

Result<void> MemorySubmitStore::forget_unfinished(const Scope& scope,
                                                  std::int64_t job_instance_id) {
  std::lock_guard<std::mutex> lock(mu_);
  unfinished_.erase(job_tuple(scope, job_instance_id));
  return {};
}

Result<std::vector<UnfinishedJob>> MemorySubmitStore::unfinished() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<UnfinishedJob> out;
  for (const auto& [k, job] : unfinished_) out.push_back(job);
  std::stable_sort(out.begin(), out.end(), [](const UnfinishedJob& a, const UnfinishedJob& b) {
    return a.submitted_ms < b.submitted_ms;
  });
  return out;
}

Result<std::size_t> MemorySubmitStore::expire(std::int64_t before_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t removed = 0;
  for (auto it = keys_.begin(); it != keys_.end();) {
    if (it->second.submitted_ms < before_ms) {
      it = keys_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  for (auto it = unfinished_.begin(); it != unfinished_.end();) {
    if (it->second.submitted_ms < before_ms) {
      it = unfinished_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

Result<std::uint64_t> MemorySubmitStore::start_run() {
  std::lock_guard<std::mutex> lock(mu_);
  return ++runs_;
}

}  // namespace jobgw::core
