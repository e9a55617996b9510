#pragma once

#include <map>
#include <mutex>
#include <tuple>

#include "core/submit/submit_store.h"

namespace jobgw::core {

// A SubmitStore in process memory: nothing survives a restart. For tests, and for jobgw when
// state.path is empty (idempotency then holds only while the process lives).
class MemorySubmitStore final : public SubmitStore {
 public:
  Result<std::optional<RememberedSubmit>> lookup(const IdempotencyKey& key,
                                                 std::int64_t not_before_ms) override;
  Result<void> record_submit(const SubmitRecord& record) override;
  Result<void> forget_unfinished(const Scope& scope, std::int64_t job_instance_id) override;
  Result<std::vector<UnfinishedJob>> unfinished() override;
  Result<std::size_t> expire(std::int64_t before_ms) override;
  Result<std::uint64_t> start_run() override;

 private:
  using KeyTuple = std::tuple<std::string, std::string, std::string>;
  using JobTuple = std::tuple<std::string, std::string, std::int64_t>;

  std::mutex mu_;
  std::map<KeyTuple, RememberedSubmit> keys_;
  std::map<JobTuple, UnfinishedJob> unfinished_;
  std::uint64_t runs_ = 0;
};

}  // namespace jobgw::core
