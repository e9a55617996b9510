#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/base/scheduler.h"
#include "core/redis/redis_client.h"
#include "core/submit/shared_submit_keys.h"

namespace jobgw::core {

struct RedisSubmitKeysConfig {
  std::string prefix = "jobgw";
  // Who claims: written into the claim so an operator can see which replica holds it.
  std::string replica_id;
  // How long an answer is remembered (idempotency.window_s).
  std::chrono::milliseconds window{std::chrono::hours(24)};
  // How long a claim without an answer holds the key. A replica killed between asking JOB and
  // settling leaves its claim behind; after this a retry asks JOB again, the same ambiguity as a
  // submit in flight when one jobgw is killed. Meanwhile duplicates wait, then get kTimeout.
  std::chrono::milliseconds claim_ttl{std::chrono::seconds(30)};
  // How often a duplicate looks again while another replica's submit is in flight.
  std::chrono::milliseconds wait_step{std::chrono::milliseconds(50)};
  // How often a claim whose SET got no answer is taken back while Redis cannot be asked.
  std::chrono::milliseconds release_retry{std::chrono::milliseconds(250)};
};

// SharedSubmitKeys on Redis: one string per key, `PREFIX:idem:SHA256(caller, scope,
// request_id)`, holding JSON: {"state":"claimed",...} while a replica asks JOB, then
// {"state":"done","fp":...,"job":...} for the window. A claim is one `SET NX GET`, so of any
// number of replicas claiming at once exactly one wins and the others read what it wrote.
class RedisSubmitKeys final : public SharedSubmitKeys {
 public:
  RedisSubmitKeys(RedisClient& redis, Scheduler& scheduler, RedisSubmitKeysConfig config);
  ~RedisSubmitKeys() override;

  void claim(const IdempotencyKey& key, const std::string& fingerprint,
             std::function<void(Result<Claim>)> done) override;
  void settle(const IdempotencyKey& key, const std::string& fingerprint,
              const Result<JobRef>& result) override;

  // The Redis key of an idempotency key; for tests and operators.
  std::string redis_key(const IdempotencyKey& key) const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace jobgw::core
