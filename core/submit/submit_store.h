#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/base/targets.h"
#include "core/job/job_requests.h"

namespace jobgw::core {

// Who asked, where, and under which caller-chosen id: a submit with the same key inside the
// idempotency window is the same submit.
struct IdempotencyKey {
  std::string caller;      // the authenticated caller's name ("anonymous" in insecure-dev mode)
  std::string scope;       // "biz:1"
  std::string request_id;  // the caller's request_id
};

// A submit JOB accepted, as a restarted jobgw needs to know it.
struct SubmitRecord {
  Scope scope;
  JobRef ref;
  std::int64_t submitted_ms = 0;  // Unix milliseconds
  // Present when the caller gave a request_id: the key and the SHA-256 (hex) of the request.
  std::optional<IdempotencyKey> key;
  std::string fingerprint;
};

// What a key remembers.
struct RememberedSubmit {
  std::string fingerprint;
  JobRef ref;
  std::int64_t submitted_ms = 0;
};

// A job jobgw submitted and has not yet seen finish.
struct UnfinishedJob {
  Scope scope;
  std::int64_t job_instance_id = 0;
  std::int64_t submitted_ms = 0;
};

// Durable memory of submits: idempotency keys and the jobs still to be watched to their end.
// One process's embedded database by default (SqliteSubmitStore); behind this interface so a
// shared store can serve several replicas. Implementations are thread-safe; every call is short
// and synchronous. Errors are values (kInternal), never exceptions.
class SubmitStore {
 public:
  virtual ~SubmitStore() = default;

  // The answer remembered for `key` when it was submitted at or after `not_before_ms`.
  virtual Result<std::optional<RememberedSubmit>> lookup(const IdempotencyKey& key,
                                                         std::int64_t not_before_ms) = 0;
  // Remembers the key (when present) and records the job as unfinished, atomically. A key
  // already present is replaced (it was older than the window, or lookup would have found it).
  virtual Result<void> record_submit(const SubmitRecord& record) = 0;
  // The job reached its end (or JOB no longer knows it): stop resuming it after restarts.
  virtual Result<void> forget_unfinished(const Scope& scope, std::int64_t job_instance_id) = 0;
  // Every job recorded and not forgotten, oldest first: what a starting jobgw watches again.
  virtual Result<std::vector<UnfinishedJob>> unfinished() = 0;
  // Drops keys and unfinished jobs submitted before `before_ms`; returns how many rows went.
  virtual Result<std::size_t> expire(std::int64_t before_ms) = 0;
  // Counts one start of jobgw on this store and returns the count, 1 on a new store: the run
  // number that keeps watch sequence numbers of successive runs apart.
  virtual Result<std::uint64_t> start_run() = 0;
};

}  // namespace jobgw::core
