#include "core/submit/idempotent_submitter.h"

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <tuple>
#include <utility>

namespace jobgw::core {
namespace {

using KeyTuple = std::tuple<std::string, std::string, std::string>;

KeyTuple key_tuple(const IdempotencyKey& key) { return {key.caller, key.scope, key.request_id}; }

Error conflict(const IdempotencyKey& key, const std::string& what) {
  Error e;
  e.kind = ErrorKind::kConflict;
  e.message = "request_id: '" + key.request_id + "' was already used in scope " + key.scope +
              " for a different request (" + what +
              "); use a new request_id for a different request";
  return e;
}

}  // namespace

class IdempotentSubmitter::Impl : public std::enable_shared_from_this<IdempotentSubmitter::Impl> {
 public:
  Impl(SubmitStore& store, Scheduler& scheduler, std::chrono::milliseconds window,
       SharedSubmitKeys* shared)
      : store_(store), scheduler_(scheduler), window_(window), shared_(shared) {}

  void submit(const Scope& scope, const std::optional<IdempotencyKey>& key,
              const std::string& fingerprint, Send send, Done done);
  void watch_ended(const Scope& scope, std::int64_t job, const std::optional<Error>& error);
  Result<std::size_t> expire_now();
  void schedule_expiry(std::chrono::milliseconds every);
  void stop();

  SubmitStore& store_;

 private:
  struct InFlight {
    std::string fingerprint;
    std::vector<Done> waiters;
  };

  void send_to_job(const Scope& scope, const std::optional<IdempotencyKey>& key,
                   const std::string& fingerprint, const Send& send, Done done);
  void claimed(const Scope& scope, const IdempotencyKey& key, const std::string& fingerprint,
               const Send& send, Done done, Result<SharedSubmitKeys::Claim> claim);
  void sent(const Scope& scope, const std::optional<IdempotencyKey>& key,
            const std::string& fingerprint, Result<JobRef> result, const Done& done);
  // Answers the first submit of a key with `first` and the ones that joined it as kJoined.
  void finish(const std::optional<IdempotencyKey>& key, const Result<JobRef>& result,
              SubmitSource first, const Done& done);

  Scheduler& scheduler_;
  const std::chrono::milliseconds window_;
  SharedSubmitKeys* const shared_;
  std::mutex mu_;
  std::map<KeyTuple, InFlight> in_flight_;
  std::shared_ptr<Timer> expiry_timer_;
  bool stopped_ = false;
};

void IdempotentSubmitter::Impl::submit(const Scope& scope, const std::optional<IdempotencyKey>& key,
                                       const std::string& fingerprint, Send send, Done done) {
  if (key) {
    std::unique_lock<std::mutex> lock(mu_);
    // In flight first, then the store, both under the lock: a first submit stores its answer
    // before it leaves in_flight_, so a duplicate always finds one or the other.
    auto it = in_flight_.find(key_tuple(*key));
    if (it != in_flight_.end()) {
      if (it->second.fingerprint != fingerprint) {
        lock.unlock();
        done(conflict(*key, "that request is still in flight"), SubmitSource::kJob);
        return;
      }
      it->second.waiters.push_back(std::move(done));
      return;
    }
    auto found = store_.lookup(*key, scheduler_.wall_ms() - window_.count());
    if (!found) {
      lock.unlock();
      spdlog::error("event=state_store_failed op=lookup request_id={} {}", key->request_id,
                    found.error().describe());
      Error e = Error::internal("cannot check request_id '" + key->request_id +
                                "' against earlier submits; retry later");
      done(std::move(e), SubmitSource::kJob);
      return;
    }
    if (found.value()) {
      const RememberedSubmit& earlier = *found.value();
      lock.unlock();
      if (earlier.fingerprint != fingerprint) {
        done(conflict(*key, "job_instance_id " + std::to_string(earlier.ref.job_instance_id)),
             SubmitSource::kJob);
      } else {
        done(earlier.ref, SubmitSource::kRemembered);
      }
      return;
    }
    in_flight_.emplace(key_tuple(*key), InFlight{fingerprint, {}});
  }
  if (key && shared_ != nullptr) {
    auto self = shared_from_this();
    shared_->claim(*key, fingerprint,
                   [self, scope, key = *key, fingerprint, send = std::move(send),
                    done = std::move(done)](Result<SharedSubmitKeys::Claim> claim) mutable {
                     self->claimed(scope, key, fingerprint, send, std::move(done),
                                   std::move(claim));
                   });
    return;
  }
  send_to_job(scope, key, fingerprint, send, std::move(done));
}

void IdempotentSubmitter::Impl::send_to_job(const Scope& scope,
                                            const std::optional<IdempotencyKey>& key,
                                            const std::string& fingerprint, const Send& send,
                                            Done done) {
  auto self = shared_from_this();
  send([self, scope, key, fingerprint, done = std::move(done)](Result<JobRef> result) {
    self->sent(scope, key, fingerprint, std::move(result), done);
  });
}

void IdempotentSubmitter::Impl::claimed(const Scope& scope, const IdempotencyKey& key,
                                        const std::string& fingerprint, const Send& send, Done done,
                                        Result<SharedSubmitKeys::Claim> claim) {
  if (!claim) {
    spdlog::warn("event=shared_key_unavailable request_id={} {}", key.request_id,
                 claim.error().describe());
    return finish(key, claim.error(), SubmitSource::kJob, done);
  }
  if (claim->kind == SharedSubmitKeys::Claim::Kind::kClaimed) {
    return send_to_job(scope, key, fingerprint, send, std::move(done));
  }
  if (claim->kind == SharedSubmitKeys::Claim::Kind::kInFlight) {
    return finish(key, conflict(key, "that request is still in flight"), SubmitSource::kJob, done);
  }
  const RememberedSubmit& earlier = claim->remembered;
  if (earlier.fingerprint != fingerprint) {
    return finish(key,
                  conflict(key, "job_instance_id " + std::to_string(earlier.ref.job_instance_id)),
                  SubmitSource::kJob, done);
  }
  finish(key, earlier.ref, SubmitSource::kRemembered, done);
}

void IdempotentSubmitter::Impl::sent(const Scope& scope, const std::optional<IdempotencyKey>& key,
                                     const std::string& fingerprint, Result<JobRef> result,
                                     const Done& done) {
  if (result) {
    SubmitRecord record;
    record.scope = scope;
    record.ref = result.value();
    record.submitted_ms = scheduler_.wall_ms();
    record.key = key;
    record.fingerprint = fingerprint;
    if (auto stored = store_.record_submit(record); !stored) {
      spdlog::error(
          "event=state_store_failed op=record job_instance_id={} request_id={} detail=\"the job "
          "runs but a restart will not resume it and its request_id is not remembered\" {}",
          record.ref.job_instance_id, key ? key->request_id : "", stored.error().describe());
    }
  }
  if (key && shared_ != nullptr) shared_->settle(*key, fingerprint, result);
  finish(key, result, SubmitSource::kJob, done);
}

void IdempotentSubmitter::Impl::finish(const std::optional<IdempotencyKey>& key,
                                       const Result<JobRef>& result, SubmitSource first,
                                       const Done& done) {
  std::vector<Done> waiters;
  if (key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = in_flight_.find(key_tuple(*key));
    if (it != in_flight_.end()) {
      waiters = std::move(it->second.waiters);
      in_flight_.erase(it);
    }
  }
  done(result, first);
  for (const Done& waiter : waiters) waiter(result, SubmitSource::kJoined);
}

void IdempotentSubmitter::Impl::watch_ended(const Scope& scope, std::int64_t job,
                                            const std::optional<Error>& error) {
  if (error && is_transient(*error)) return;
  if (auto forgot = store_.forget_unfinished(scope, job); !forgot) {
    spdlog::error("event=state_store_failed op=forget job_instance_id={} {}", job,
                  forgot.error().describe());
  }
}

Result<std::size_t> IdempotentSubmitter::Impl::expire_now() {
  return store_.expire(scheduler_.wall_ms() - window_.count());
}

void IdempotentSubmitter::Impl::schedule_expiry(std::chrono::milliseconds every) {
  auto expired = expire_now();
  if (!expired) {
    spdlog::error("event=state_store_failed op=expire {}", expired.error().describe());
  } else if (expired.value() > 0) {
    spdlog::info("event=state_expired rows={}", expired.value());
  }
  std::weak_ptr<Impl> weak = weak_from_this();
  auto timer = scheduler_.after(every, [weak, every] {
    if (auto self = weak.lock()) self->schedule_expiry(every);
  });
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) {
    timer->cancel();
    return;
  }
  expiry_timer_ = std::move(timer);
}

void IdempotentSubmitter::Impl::stop() {
  std::shared_ptr<Timer> timer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    timer = std::move(expiry_timer_);
  }
  if (timer) timer->cancel();
}

IdempotentSubmitter::IdempotentSubmitter(SubmitStore& store, Scheduler& scheduler,
                                         std::chrono::milliseconds window, SharedSubmitKeys* shared)
    : impl_(std::make_shared<Impl>(store, scheduler, window, shared)) {}

IdempotentSubmitter::~IdempotentSubmitter() { impl_->stop(); }

void IdempotentSubmitter::submit(const Scope& scope, const std::optional<IdempotencyKey>& key,
                                 const std::string& fingerprint, Send send, Done done) {
  impl_->submit(scope, key, fingerprint, std::move(send), std::move(done));
}

void IdempotentSubmitter::watch_ended(const Scope& scope, std::int64_t job_instance_id,
                                      const std::optional<Error>& error) {
  impl_->watch_ended(scope, job_instance_id, error);
}

Result<std::vector<UnfinishedJob>> IdempotentSubmitter::unfinished() {
  return impl_->store_.unfinished();
}

void IdempotentSubmitter::start_expiry(std::chrono::milliseconds every) {
  impl_->schedule_expiry(every);
}

Result<std::size_t> IdempotentSubmitter::expire_now() { return impl_->expire_now(); }

}  // namespace jobgw::core
