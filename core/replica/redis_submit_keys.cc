#include "core/replica/redis_submit_keys.h"

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>

#include "core/security/audit_log.h"

namespace jobgw::core {
namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;

// Writes the answer only over this replica's own claim (or a key that expired meanwhile), so a
// slow settle never replaces what another replica remembered after our claim ran out.
constexpr const char* kSettleDone = R"lua(
local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
)lua";

// Releases the key after a failed submit, only while it still holds this replica's claim.
constexpr const char* kRelease = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

Error unavailable(const IdempotencyKey& key, const Error& cause) {
  Error e;
  e.kind = ErrorKind::kTransport;
  e.message = "request_id: cannot check '" + key.request_id +
              "' against the other replicas' submits in Redis (state.redis_url): " + cause.message +
              "; refused rather than risk running the job twice, retry later";
  return e;
}

std::string nonce() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

class RedisSubmitKeys::Impl : public std::enable_shared_from_this<RedisSubmitKeys::Impl> {
 public:
  Impl(RedisClient& redis, Scheduler& scheduler, RedisSubmitKeysConfig config)
      : redis_(redis), scheduler_(scheduler), config_(std::move(config)) {}

  std::string redis_key(const IdempotencyKey& key) const {
    std::string id;
    for (const std::string* part : {&key.caller, &key.scope, &key.request_id}) {
      id += std::to_string(part->size()) + ":" + *part;
    }
    return config_.prefix + ":idem:" + sha256_hex(id);
  }

  void claim(const IdempotencyKey& key, const std::string& fingerprint,
             std::function<void(Result<Claim>)> done) {
    attempt(key, fingerprint, scheduler_.now() + config_.claim_ttl, std::move(done));
  }

  void settle(const IdempotencyKey& key, const std::string& fingerprint,
              const Result<JobRef>& result) {
    const std::string rkey = redis_key(key);
    std::string mine;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = claims_.find(rkey);
      if (it == claims_.end()) return;
      mine = std::move(it->second);
      claims_.erase(it);
    }
    std::vector<std::string> args;
    if (result) {
      Json done = {{"state", "done"},
                   {"fp", fingerprint},
                   {"job", result->job_instance_id},
                   {"step", result->step_instance_id},
                   {"name", result->job_instance_name},
                   {"at", scheduler_.wall_ms()}};
      args = {"EVAL",
              kSettleDone,
              "1",
              rkey,
              mine,
              done.dump(),
              std::to_string(config_.window.count())};
    } else {
      args = {"EVAL", kRelease, "1", rkey, mine};
    }
    const bool ok = result.ok();
    redis_.command(std::move(args), [request_id = key.request_id, ok](Result<RedisReply> r) {
      if (!r) {
        spdlog::error("event=shared_key_settle_failed request_id={} outcome={} detail=\"{}\" {}",
                      request_id, ok ? "remember" : "release",
                      ok ? "a retry on another replica may ask JOB again once the claim expires"
                         : "a retry waits until the claim expires",
                      r.error().describe());
      }
    });
  }

 private:
  void attempt(const IdempotencyKey& key, const std::string& fingerprint,
               Scheduler::Clock::time_point deadline, std::function<void(Result<Claim>)> done) {
    const std::string rkey = redis_key(key);
    Json claim = {{"state", "claimed"},
                  {"fp", fingerprint},
                  {"replica", config_.replica_id},
                  {"at", scheduler_.wall_ms()},
                  {"nonce", nonce()}};
    std::string value = claim.dump();
    auto self = shared_from_this();
    redis_.command(
        {"SET", rkey, value, "NX", "PX", std::to_string(config_.claim_ttl.count()), "GET"},
        [self, key, fingerprint, deadline, rkey, value,
         done = std::move(done)](Result<RedisReply> reply) mutable {
          self->on_claim(key, fingerprint, deadline, rkey, value, std::move(done),
                         std::move(reply));
        });
  }

  void on_claim(const IdempotencyKey& key, const std::string& fingerprint,
                Scheduler::Clock::time_point deadline, const std::string& rkey,
                const std::string& value, std::function<void(Result<Claim>)> done,
                Result<RedisReply> reply) {
    if (!reply) {
      // The claim may still reach Redis (a paused Redis runs it when it wakes up); nobody would
      // settle it, and every retry would wait out claim_ttl. Take it back once Redis answers.
      release_until(rkey, value, scheduler_.now() + config_.claim_ttl);
      return done(unavailable(key, reply.error()));
    }
    if (reply->is_nil()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        claims_[rkey] = value;
      }
      return done(Claim{});
    }
    auto text = reply->text();
    Json held = text ? Json::parse(*text, nullptr, false) : Json();
    if (!held.is_object() || !held.contains("state") || !held.contains("fp")) {
      return done(unavailable(key, Error::internal("unreadable value under " + rkey)));
    }
    const std::string state = held.value("state", "");
    const std::string held_fp = held.value("fp", "");
    if (state == "done") {
      Claim c;
      c.kind = Claim::Kind::kRemembered;
      c.remembered.fingerprint = held_fp;
      c.remembered.ref.job_instance_id = held.value("job", std::int64_t{0});
      c.remembered.ref.step_instance_id = held.value("step", std::int64_t{0});
      c.remembered.ref.job_instance_name = held.value("name", "");
      c.remembered.submitted_ms = held.value("at", std::int64_t{0});
      return done(std::move(c));
    }
    if (held_fp != fingerprint) {
      Claim c;
      c.kind = Claim::Kind::kInFlight;
      c.remembered.fingerprint = held_fp;
      return done(std::move(c));
    }
    if (scheduler_.now() >= deadline) {
      Error e;
      e.kind = ErrorKind::kTimeout;
      e.message = "request_id: the first submit with '" + key.request_id +
                  "' is still in flight on replica " + held.value("replica", "?") + " after " +
                  std::to_string(config_.claim_ttl.count()) + " ms; retry later";
      return done(e);
    }
    std::weak_ptr<Impl> weak = weak_from_this();
    scheduler_.after(config_.wait_step,
                     [weak, key, fingerprint, deadline, done = std::move(done)]() mutable {
                       if (auto self = weak.lock()) {
                         self->attempt(key, fingerprint, deadline, std::move(done));
                       } else {
                         Error e;
                         e.kind = ErrorKind::kCancelled;
                         e.message = "shutting down";
                         done(e);
                       }
                     });
  }

  // Deletes the key while it holds `value`, retrying while Redis cannot be asked.
  void release_until(const std::string& rkey, const std::string& value,
                     Scheduler::Clock::time_point deadline) {
    std::weak_ptr<Impl> weak = weak_from_this();
    redis_.command(
        {"EVAL", kRelease, "1", rkey, value}, [weak, rkey, value, deadline](Result<RedisReply> r) {
          auto self = weak.lock();
          if (r || !self || self->scheduler_.now() >= deadline) return;
          self->scheduler_.after(self->config_.release_retry, [weak, rkey, value, deadline] {
            if (auto again = weak.lock()) again->release_until(rkey, value, deadline);
          });
        });
  }

  RedisClient& redis_;
  Scheduler& scheduler_;
  const RedisSubmitKeysConfig config_;
  std::mutex mu_;
  // This replica's claims awaiting settle(): the exact value, for compare-and-set in Redis.
  std::map<std::string, std::string> claims_;
};

RedisSubmitKeys::RedisSubmitKeys(RedisClient& redis, Scheduler& scheduler,
                                 RedisSubmitKeysConfig config)
    : impl_(std::make_shared<Impl>(redis, scheduler, std::move(config))) {}

RedisSubmitKeys::~RedisSubmitKeys() = default;

void RedisSubmitKeys::claim(const IdempotencyKey& key, const std::string& fingerprint,
                            std::function<void(Result<Claim>)> done) {
  impl_->claim(key, fingerprint, std::move(done));
}

void RedisSubmitKeys::settle(const IdempotencyKey& key, const std::string& fingerprint,
                             const Result<JobRef>& result) {
  impl_->settle(key, fingerprint, result);
}

std::string RedisSubmitKeys::redis_key(const IdempotencyKey& key) const {
  return impl_->redis_key(key);
}

}  // namespace jobgw::core
