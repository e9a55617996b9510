#pragma once

#include <functional>
#include <string>

#include "core/base/result.h"
#include "core/job/job_requests.h"
#include "core/submit/submit_store.h"

namespace jobgw::core {

// Idempotency keys every replica of a gateway sees (on Redis), so the same request_id sent to
// any replicas reaches JOB once. IdempotentSubmitter claims a key before it asks JOB and
// settles it with JOB's answer; one replica needs none of this.
class SharedSubmitKeys {
 public:
  struct Claim {
    enum class Kind {
      kClaimed,     // this replica asks JOB; settle() must follow
      kRemembered,  // an earlier submit with the key: `remembered` holds its answer
      kInFlight,    // another replica's submit with the key and a different fingerprint is in
                    // flight (a conflict); `remembered.fingerprint` is its fingerprint
    };
    Kind kind = Kind::kClaimed;
    RememberedSubmit remembered;
  };

  virtual ~SharedSubmitKeys() = default;

  // Claims `key` for a submit with `fingerprint`. While another replica's submit with the key is
  // in flight, waits for its answer. `done` runs exactly once, never inline: the claim, an
  // earlier answer (the caller compares fingerprints), or an error when the store cannot be
  // asked (kTransport: the caller must refuse the submit rather than risk a double run) or the
  // other replica's submit did not settle in time (kTimeout).
  virtual void claim(const IdempotencyKey& key, const std::string& fingerprint,
                     std::function<void(Result<Claim>)> done) = 0;
  // After a kClaimed claim: JOB's answer is remembered for the window, or a failure releases the
  // key so a retry asks JOB again (as on one replica). Best effort; failures are logged.
  virtual void settle(const IdempotencyKey& key, const std::string& fingerprint,
                      const Result<JobRef>& result) = 0;
};

}  // namespace jobgw::core
