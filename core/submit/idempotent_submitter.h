#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/base/scheduler.h"
#include "core/job/job_requests.h"
#include "core/submit/shared_submit_keys.h"
#include "core/submit/submit_store.h"

namespace jobgw::core {

// Where a submit's answer came from.
enum class SubmitSource {
  kJob,         // JOB was asked (or refused before asking: conflict, store failure)
  kRemembered,  // an earlier submit with the same key, from the store; JOB was not asked
  kJoined,      // an earlier submit with the same key still in flight; JOB was asked once
};

// Submits through JOB at most once per idempotency key within a window, and records every
// accepted job in the SubmitStore so a restarted jobgw watches it again.
//
// A key (caller, scope, request_id) seen within `window` answers the JobRef JOB gave the first
// time, without asking JOB, also across restarts. A second submit while the first is in flight
// waits for the first one's answer. The same key with a different fingerprint fails with
// kConflict naming the request_id.
//
// A first submit that fails hands its error to every waiter and releases the key: nothing is
// remembered, so a retry with the same request_id asks JOB again. That is right for errors JOB
// gave (the job was not created) and ambiguous for timeouts and broken connections, where JOB
// may have created the job without jobgw learning its id; a retry may then run it twice, as
// it would without jobgw. The same holds for a submit in flight when jobgw is killed.
//
// With `shared` keys (replicas on Redis) a key is also claimed there before JOB is asked, so the
// same request_id sent to any replicas reaches JOB once; Redis that cannot be asked fails a keyed
// submit (kTransport, named) while submits without a key go on.
//
// A store that cannot be read fails the submit (kInternal) rather than risk a double run; a
// store that cannot be written after JOB accepted the job still answers the JobRef (the job
// exists; failing would invite the retry that runs it twice) and logs the loss.
//
// Thread-safe. `done` runs exactly once: inline for answers known at once, else on the thread
// that completes `send`.
class IdempotentSubmitter {
 public:
  using SendDone = std::function<void(Result<JobRef>)>;
  // Asks JOB once; must call its argument exactly once.
  using Send = std::function<void(SendDone)>;
  using Done = std::function<void(Result<JobRef>, SubmitSource)>;

  // `store` (and `shared`, when set) must outlive the submitter and every submit in flight;
  // `scheduler` gives the time.
  IdempotentSubmitter(SubmitStore& store, Scheduler& scheduler, std::chrono::milliseconds window,
                      SharedSubmitKeys* shared = nullptr);
  ~IdempotentSubmitter();
  IdempotentSubmitter(const IdempotentSubmitter&) = delete;
  IdempotentSubmitter& operator=(const IdempotentSubmitter&) = delete;

  // `key` absent: no request_id, every call asks JOB (the job is still recorded as unfinished).
  void submit(const Scope& scope, const std::optional<IdempotencyKey>& key,
              const std::string& fingerprint, Send send, Done done);

  // A watch of the job ended: error empty when the job finished. Finished jobs, and jobs JOB
  // refuses to report on for good (unknown job, permission), are forgotten; a job the watch
  // gave up on after transient errors stays, so a restart tries it again until it expires.
  void watch_ended(const Scope& scope, std::int64_t job_instance_id,
                   const std::optional<Error>& error);

  // The jobs to watch again after a restart.
  Result<std::vector<UnfinishedJob>> unfinished();

  // Drops keys and unfinished jobs older than the window now, then every `every` until the
  // submitter is destroyed.
  void start_expiry(std::chrono::milliseconds every);
  // Drops them once; returns how many rows went.
  Result<std::size_t> expire_now();

  class Impl;  // opaque; shared with callbacks in flight

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace jobgw::core
