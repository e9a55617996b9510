#include "core/replica/redis_watch_feed.h"

#include <spdlog/spdlog.h>

#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/replica/redis_watch_scripts.h"
#include "core/replica/watch_event_codec.h"

namespace jobgw::core {
namespace {

namespace scripts = redis_watch_scripts;
using Json = nlohmann::json;
using std::chrono::milliseconds;

// "biz:1:10001": the job's name in keys (inside the hash tag) and in the registry.
std::string member_of(const Scope& scope, std::int64_t job) {
  return (scope.type.empty() ? "biz" : scope.type) + ":" + scope.id + ":" + std::to_string(job);
}

bool parse_member(const std::string& m, Scope* scope, std::int64_t* job) {
  auto last = m.rfind(':');
  auto first = m.find(':');
  if (first == std::string::npos || last == first) return false;
  scope->type = m.substr(0, first);
  scope->id = m.substr(first + 1, last - first - 1);
  try {
    *job = std::stoll(m.substr(last + 1));
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

std::string error_json(const Error& e) {
  return Json{{"k", static_cast<int>(e.kind)}, {"m", e.message}, {"c", e.job_code}}.dump();
}

Error error_from_json(const Json& j) {
  Error e;
  e.kind = static_cast<ErrorKind>(j.value("k", static_cast<int>(ErrorKind::kInternal)));
  e.message = j.value("m", std::string("the job's poller stopped"));
  e.job_code = j.value("c", std::int64_t{0});
  return e;
}

std::uint64_t parse_seq(const RedisReply& r) {
  auto n = r.as_integer();
  return n && *n > 0 ? static_cast<std::uint64_t>(*n) : 0;
}

// A job's log seqs start at the second it was first registered, shifted left 20 bits: a log
// that Redis lost and a replica started again numbers above the lost one (2^20 events per
// second of difference), so an old after_seq gets a fresh SNAPSHOT, never another log's events.
// Stays below 2^53, which Lua's numbers hold exactly, until the year 2242.
std::uint64_t new_log_seq_base(std::int64_t wall_ms) {
  return static_cast<std::uint64_t>(wall_ms / 1000) << 20;
}

}  // namespace

class RedisWatchFeed::Impl : public std::enable_shared_from_this<RedisWatchFeed::Impl> {
 public:
  Impl(RedisClient& redis, Scheduler& scheduler, WatchHub& front, WatchHub& poller,
       RedisWatchFeedConfig config, ReplicaObserver* observer)
      : redis_(redis),
        scheduler_(scheduler),
        front_(front),
        poller_(poller),
        config_(std::move(config)),
        observer_(observer != nullptr ? observer : &default_observer_) {}

  std::unique_ptr<RedisClient> subscriber_;

  // ---- keys ----
  std::string key(const std::string& member, const char* what) const {
    return config_.prefix + ":job:{" + member + "}:" + what;
  }
  std::string channel(const std::string& member) const {
    return config_.prefix + ":ev:{" + member + "}";
  }
  std::string registry() const { return config_.prefix + ":jobs"; }
  std::string poke_channel() const { return config_.prefix + ":poke"; }
  std::string channel_prefix() const { return config_.prefix + ":ev:{"; }

  // ---- lifecycle ----
  void start() {
    subscriber_->subscribe({poke_channel()});
    schedule(&Impl::renew_timer_, config_.renew_every, [](Impl& self) { self.renew(); });
    schedule(&Impl::scan_timer_, config_.scan_every, [](Impl& self) { self.scan(); });
  }

  void stop(std::chrono::milliseconds wait) {
    std::map<std::string, Owned> owned;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      owned.swap(owned_);
      for (auto& [m, sub] : local_) {
        if (sub) sub->cancel();
      }
      local_.clear();
      for (auto* timer : {&renew_timer_, &scan_timer_}) {
        if (*timer) (*timer)->cancel();
        timer->reset();
      }
    }
    std::vector<std::string> args = {"EVAL", scripts::kRelease, std::to_string(owned.size())};
    for (auto& [m, o] : owned) args.push_back(key(m, "lease"));
    for (auto& [m, o] : owned) args.push_back(o.token);
    for (auto& [m, o] : owned) {
      if (o.sub) o.sub->cancel();
      observer_->on_lease_lost("released");
    }
    observer_->on_owned_jobs(0);
    if (owned.empty()) return;
    auto released = std::make_shared<std::promise<void>>();
    auto done = released->get_future();
    std::size_t n = owned.size();
    redis_.command(std::move(args), [n, released](Result<RedisReply> r) {
      spdlog::info("event=leases_released count={} ok={}", n, r.ok());
      released->set_value();
    });
    // A stopping replica waits briefly, so the leases are gone before its process is.
    if (wait.count() > 0) done.wait_for(wait);
  }

  // ---- the front hub's feed ----
  void follow(const Scope& scope, std::int64_t job) {
    const std::string m = member_of(scope, job);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      followed_[m] = Followed{scope, job};
    }
    observer_->on_followed_jobs(followed_jobs());
    std::weak_ptr<Impl> weak = weak_from_this();
    // Load only once the subscription is confirmed: every change after the load then arrives.
    subscriber_->subscribe({channel(m)}, [weak, m] {
      if (auto self = weak.lock()) self->load(m);
    });
    acquire(m, scope, job, "submit");
    // Redis away: the subscription waits for it; the streams need changes now.
    if (!subscriber_->up()) start_local(m);
  }

  void unfollow(const Scope& scope, std::int64_t job) {
    const std::string m = member_of(scope, job);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (followed_.erase(m) == 0) return;
    }
    stop_local(m);
    subscriber_->unsubscribe({channel(m)});
    observer_->on_followed_jobs(followed_jobs());
  }

  void submitted(const Scope& scope, std::int64_t job) {
    acquire(member_of(scope, job), scope, job, "submit");
  }

  void reload(const Scope& scope, std::int64_t job) { load(member_of(scope, job)); }

  void reopened(const Scope& scope, std::int64_t job, std::function<void()> shared = {}) {
    acquire(member_of(scope, job), scope, job, "reopen", /*reopen=*/true, std::move(shared));
  }

  // A poke message is "JOB KIND REPLICA": KIND "poke" or "callback", REPLICA the sender, who
  // acted on it already.
  bool poke(std::int64_t job, bool callback = false) {
    const char* kind = callback ? "callback" : "poke";
    redis_.command(
        {"PUBLISH", poke_channel(), std::to_string(job) + " " + kind + " " + config_.replica_id},
        [job](Result<RedisReply> r) {
          if (!r) {
            spdlog::warn("event=poke_not_shared job_instance_id={} {}", job, r.error().describe());
          }
        });
    // Read here at once when this replica polls it; the message reaches the owner otherwise.
    poked(job, callback);
    return true;
  }

  // A poke or callback for the job, from here or from another replica's message: the poller
  // reads it if this replica polls it (and, for a callback, checks whether a job it saw end
  // ran again).
  void poked(std::int64_t job, bool callback) {
    if (callback) {
      poller_.callback_arrived(job);
    } else {
      poller_.poke(job);
    }
  }

  bool stopped() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stopped_;
  }

  std::size_t owned_jobs() const {
    std::lock_guard<std::mutex> lock(mu_);
    return owned_.size();
  }
  std::size_t followed_jobs() const {
    std::lock_guard<std::mutex> lock(mu_);
    return followed_.size();
  }

  // ---- the subscriber connection ----
  void on_message(const RedisMessage& message) {
    if (message.channel == poke_channel()) {
      std::istringstream in(message.payload);
      std::int64_t job = 0;
      std::string kind;
      std::string from;
      if (!(in >> job)) return;
      in >> kind >> from;
      if (from != config_.replica_id) poked(job, kind == "callback");
      return;
    }
    const std::string& ch = message.channel;
    if (ch.rfind(channel_prefix(), 0) != 0 || ch.back() != '}') return;
    const std::string m =
        ch.substr(channel_prefix().size(), ch.size() - channel_prefix().size() - 1);
    Followed f;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = followed_.find(m);
      if (it == followed_.end()) return;
      f = it->second;
    }
    Json j = Json::parse(message.payload, nullptr, false);
    if (j.is_object() && j.contains("r") && j["r"].is_number_unsigned()) {
      // The job ran again after the end at that seq: the streams here continue past it.
      front_.feed_reopened(f.scope, f.job, j["r"].get<std::uint64_t>());
      return;
    }
    if (!j.is_object() || !j.contains("q") || !j["q"].is_number_unsigned() || !j.contains("e") ||
        !j["e"].is_array()) {
      spdlog::warn("event=feed_message_unreadable channel={}", ch);
      return load(m);
    }
    if (j.contains("t") && j["t"].is_number_integer()) {
      observer_->on_fanout_lag(milliseconds(
          std::max<std::int64_t>(0, scheduler_.wall_ms() - j["t"].get<std::int64_t>())));
    }
    std::uint64_t seq = j["q"].get<std::uint64_t>();
    std::vector<WatchEvent> events;
    for (const Json& e : j["e"]) {
      auto decoded = decode_event(e.dump());
      if (!decoded) {
        spdlog::warn("event=feed_event_unreadable job_instance_id={} {}", f.job,
                     decoded.error().describe());
        return load(m);
      }
      decoded->seq = seq++;
      events.push_back(std::move(decoded.value()));
    }
    std::shared_ptr<const JobSnapshot> latest;
    if (j.contains("s") && j["s"].is_object()) {
      auto snap = decode_snapshot(j["s"].dump());
      if (snap) latest = std::make_shared<const JobSnapshot>(std::move(snap.value()));
    }
    if (!front_.feed_events(f.scope, f.job, std::move(events), latest)) return load(m);
    if (j.contains("x") && j["x"].is_object()) {
      FeedState ended;
      ended.end = error_from_json(j["x"]);
      front_.feed_state(f.scope, f.job, std::move(ended));
    }
  }

  void on_subscriber_state(bool up) {
    std::vector<std::string> members;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [m, f] : followed_) members.push_back(m);
    }
    // Down: the streams here still need their jobs, so this replica polls them itself. Up:
    // messages published meanwhile are lost; every followed job reloads (and stops its local
    // poll first).
    for (const auto& m : members) {
      if (up) {
        load(m);
      } else {
        start_local(m);
      }
    }
  }

 private:
  struct Followed {
    Scope scope;
    std::int64_t job = 0;
  };

  struct Owned {
    Scope scope;
    std::int64_t job = 0;
    std::string token;
    std::shared_ptr<Subscription> sub;
  };

  // What the owner sends in one append.
  struct Batch {
    std::vector<WatchEvent> events;
    std::optional<Error> end;
    bool finished = false;
    bool closed = false;  // the subscription ended (after FINISHED or an error)
  };

  // Runs fn every `every` until stop(); `slot` holds the pending timer so stop() cancels it.
  template <typename Fn>
  void schedule(std::shared_ptr<Timer> Impl::*slot, milliseconds every, Fn fn) {
    std::weak_ptr<Impl> weak = weak_from_this();
    auto timer = scheduler_.after(every, [weak, slot, every, fn] {
      auto self = weak.lock();
      if (!self) return;
      fn(*self);
      self->schedule(slot, every, fn);
    });
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      timer->cancel();
      return;
    }
    this->*slot = std::move(timer);
  }

  // ---- loading a followed job ----
  void load(const std::string& m) {
    Followed f;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = followed_.find(m);
      if (it == followed_.end() || stopped_) return;
      f = it->second;
    }
    std::weak_ptr<Impl> weak = weak_from_this();
    redis_.command({"EVAL", scripts::kLoad, "2", key(m, "state"), key(m, "log"),
                    std::to_string(config_.history_limit)},
                   [weak, m, f](Result<RedisReply> r) {
                     auto self = weak.lock();
                     if (!self) return;
                     if (!r) {
                       spdlog::info("event=feed_load_retry job_instance_id={} {}", f.job,
                                    r.error().describe());
                       self->start_local(m);
                       self->scheduler_.after(self->config_.retry_every, [weak, m] {
                         if (auto again = weak.lock()) again->load(m);
                       });
                       return;
                     }
                     if (self->stop_local(m)) return self->resync(m);
                     self->loaded(f, r.value());
                   });
  }

  void loaded(const Followed& f, const RedisReply& reply) {
    if (reply.elements.size() != 5) return;
    FeedState state;
    state.seq = parse_seq(reply.elements[0]);
    const std::string& snap = reply.elements[1].str;
    if (!snap.empty()) {
      auto decoded = decode_snapshot(snap);
      if (decoded) state.snapshot = std::make_shared<const JobSnapshot>(std::move(decoded.value()));
    }
    if (!reply.elements[2].str.empty()) {
      Json e = Json::parse(reply.elements[2].str, nullptr, false);
      state.end = error_from_json(e.is_object() ? e : Json::object());
    }
    // XREVRANGE: newest first; entries are [id, [field, value, ...]].
    const auto& entries = reply.elements[3].elements;
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
      if (it->elements.size() != 2) continue;
      const auto& fields = it->elements[1].elements;
      std::uint64_t seq = 0;
      std::string body;
      for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
        if (fields[i].str == "q") seq = parse_seq(fields[i + 1]);
        if (fields[i].str == "e") body = fields[i + 1].str;
      }
      auto event = decode_event(body);
      if (!event || seq == 0) continue;
      event->seq = seq;
      state.history.push_back(std::move(event.value()));
    }
    // The streams here are ahead of the log: Redis lost it (restarted empty) or this replica
    // numbered changes itself meanwhile. The log moves past them first.
    auto at = front_.position(f.scope, f.job);
    if (at && at->snapshot != nullptr && at->seq > state.seq) {
      return resync(member_of(f.scope, f.job));
    }
    // The history must run up to the state's seq to serve replays; a log cut short (Redis
    // lost it) serves SNAPSHOTs instead.
    if (!state.history.empty() && state.history.back().seq != state.seq) state.history.clear();
    // An end in the snapshot without the log's finished mark: the job runs again (its reopen
    // message may have been missed here, as by a watch that ended before it).
    state.reopened = state.snapshot != nullptr && state.snapshot->finished && !state.end &&
                     reply.elements[4].str != "1";
    if (state.reopened) front_.feed_reopened(f.scope, f.job, state.seq);
    front_.feed_state(f.scope, f.job, std::move(state));
  }

  // ---- polling locally while Redis is away ----

  // The job's streams here keep getting its changes from this replica's own poll, numbered on
  // from what they have.
  void start_local(const std::string& m) {
    Followed f;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = followed_.find(m);
      if (stopped_ || it == followed_.end() || local_.count(m) > 0) return;
      f = it->second;
      local_[m] = nullptr;
    }
    spdlog::warn(
        "event=local_poll job_instance_id={} detail=\"Redis cannot be asked: this replica "
        "polls the job for its own streams\"",
        f.job);
    // Loaded as far as the front hub can be without Redis: changes flow from here on.
    front_.feed_state(f.scope, f.job, FeedState{});
    WatchSeed seed = front_.position(f.scope, f.job).value_or(WatchSeed{});
    auto sub = poller_.subscribe_from(f.scope, f.job, seed);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = local_.find(m);
      if (it == local_.end()) {
        sub->cancel();
        return;
      }
      it->second = sub;
    }
    pull_local(m, f, sub);
  }

  void pull_local(const std::string& m, const Followed& f,
                  const std::shared_ptr<Subscription>& sub) {
    std::weak_ptr<Impl> weak = weak_from_this();
    sub->next([weak, m, f, sub](WatchItem item) {
      auto self = weak.lock();
      if (!self) return;
      {
        std::lock_guard<std::mutex> lock(self->mu_);
        auto it = self->local_.find(m);
        if (it == self->local_.end() || it->second != sub) return;
      }
      if (item.is_end()) {
        if (item.error) {
          FeedState ended;
          ended.end = *item.error;
          self->front_.feed_state(f.scope, f.job, std::move(ended));
        }
        return;
      }
      WatchEvent e = std::move(*item.event);
      auto at = self->front_.position(f.scope, f.job);
      e.seq = (at ? at->seq : 0) + 1;
      auto latest = self->poller_.cached(f.scope, f.job, std::chrono::hours(24 * 365));
      std::shared_ptr<const JobSnapshot> snapshot;
      if (latest) snapshot = std::make_shared<const JobSnapshot>(std::move(*latest));
      self->front_.feed_events(f.scope, f.job, {std::move(e)}, snapshot);
      self->pull_local(m, f, sub);
    });
  }

  // True when the job was polled locally (now stopped).
  bool stop_local(const std::string& m) {
    std::shared_ptr<Subscription> sub;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = local_.find(m);
      if (it == local_.end()) return false;
      sub = std::move(it->second);
      local_.erase(it);
    }
    if (sub) sub->cancel();
    return true;
  }

  // Redis is back for a job this replica polled alone: the log's seq moves past the streams'
  // own numbering, someone polls the job again, and the streams reload from the log.
  void resync(const std::string& m) {
    Followed f;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = followed_.find(m);
      if (it == followed_.end()) return;
      f = it->second;
    }
    auto at = front_.position(f.scope, f.job);
    const std::uint64_t mine = at ? at->seq : 0;
    std::weak_ptr<Impl> weak = weak_from_this();
    redis_.command({"EVAL", scripts::kBump, "1", key(m, "state"), std::to_string(mine)},
                   [weak, m, f](Result<RedisReply> r) {
                     auto self = weak.lock();
                     if (!self) return;
                     if (!r) return self->start_local(m);
                     spdlog::info("event=shared_poll_resumed job_instance_id={}", f.job);
                     self->acquire(m, f.scope, f.job, "submit");
                     self->load(m);
                   });
  }

  // ---- owning ----
  // A job not registered is polled by nobody (unless someone watches it), so registering is
  // tried a few times; a Redis that stays away gets the job again from the Gateway, which
  // registers its state file's unfinished jobs whenever Redis comes back.
  static constexpr int kAcquireAttempts = 5;

  // `answered` runs at the first attempt's answer, whatever it was.
  void acquire(const std::string& m, const Scope& scope, std::int64_t job, const char* kind,
               bool reopen = false, std::function<void()> answered = {}, int attempt = 1) {
    std::weak_ptr<Impl> weak = weak_from_this();
    const std::int64_t now = scheduler_.wall_ms();
    redis_.command(
        {"EVAL", scripts::kAcquire, "5", registry(), key(m, "lease"), key(m, "epoch"),
         key(m, "state"), key(m, "log"), m, std::to_string(now), config_.replica_id,
         std::to_string(config_.lease_ttl.count()), std::to_string(new_log_seq_base(now)),
         reopen ? "1" : "0", channel(m), std::to_string(now)},
        [weak, m, scope, job, kind, reopen, answered, attempt](Result<RedisReply> r) {
          if (answered) answered();
          auto self = weak.lock();
          if (!self) return;
          if (!r) {
            spdlog::warn("event=job_not_registered job_instance_id={} attempt={} {}", job, attempt,
                         r.error().describe());
            if (attempt >= kAcquireAttempts) return;
            self->scheduler_.after(self->config_.retry_every,
                                   [weak, m, scope, job, kind, reopen, attempt] {
                                     auto again = weak.lock();
                                     if (again && !again->stopped()) {
                                       again->acquire(m, scope, job, kind, reopen, {}, attempt + 1);
                                     }
                                   });
            return;
          }
          const auto& e = r->elements;
          if (e.size() == 5 && e[0].as_integer() == 2) {
            self->own(m, scope, job, e[1].str, parse_seq(e[2]), e[3].str, kind, e[4].str == "1");
          } else if (reopen && !e.empty() && e[0].as_integer() == 1) {
            // Still polled by its owner (it had not ended there): that owner reads it now.
            self->poke(job);
          }
        });
  }

  void scan() {
    std::weak_ptr<Impl> weak = weak_from_this();
    const std::int64_t now = scheduler_.wall_ms();
    redis_.command({"EVAL", scripts::kAdopt, "1", registry(), config_.prefix, config_.replica_id,
                    std::to_string(config_.lease_ttl.count()),
                    std::to_string(new_log_seq_base(now)), std::to_string(config_.adopt_per_scan),
                    std::to_string(now - config_.registry_window.count())},
                   [weak](Result<RedisReply> r) {
                     auto self = weak.lock();
                     if (!self || !r) return;
                     const auto& e = r->elements;
                     for (std::size_t i = 0; i + 3 < e.size(); i += 4) {
                       Scope scope;
                       std::int64_t job = 0;
                       if (!parse_member(e[i].str, &scope, &job)) continue;
                       spdlog::info("event=job_adopted job_instance_id={} scope={}:{} replica={}",
                                    job, scope.type, scope.id, self->config_.replica_id);
                       self->own(e[i].str, scope, job, e[i + 1].str, parse_seq(e[i + 2]),
                                 e[i + 3].str, "adopt");
                     }
                   });
  }

  void renew() {
    std::vector<std::pair<std::string, std::string>> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [m, o] : owned_) held.emplace_back(m, o.token);
    }
    if (held.empty()) return;
    std::vector<std::string> args = {"EVAL", scripts::kRenew, std::to_string(held.size())};
    for (const auto& [m, token] : held) args.push_back(key(m, "lease"));
    args.push_back(std::to_string(config_.lease_ttl.count()));
    for (const auto& [m, token] : held) args.push_back(token);
    std::weak_ptr<Impl> weak = weak_from_this();
    redis_.command(std::move(args), [weak, held](Result<RedisReply> r) {
      auto self = weak.lock();
      if (!self || !r) return;  // unanswered: appends are fenced if the lease ran out meanwhile
      const auto& e = r->elements;
      for (std::size_t i = 0; i < e.size() && i < held.size(); ++i) {
        if (e[i].as_integer() == 0) self->lose(held[i].first, held[i].second, "fenced");
      }
    });
  }

  void own(const std::string& m, const Scope& scope, std::int64_t job, const std::string& token,
           std::uint64_t seq, const std::string& snapshot, const char* kind,
           bool reopened = false) {
    WatchSeed seed;
    seed.seq = seq;
    seed.reopen = reopened;
    if (!snapshot.empty()) {
      auto decoded = decode_snapshot(snapshot);
      if (decoded) seed.snapshot = std::make_shared<const JobSnapshot>(std::move(decoded.value()));
    }
    std::shared_ptr<Subscription> old;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      auto& o = owned_[m];
      old = std::move(o.sub);
      o.scope = scope;
      o.job = job;
      o.token = token;
    }
    if (old) old->cancel();
    auto sub = poller_.subscribe_from(scope, job, seed);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = owned_.find(m);
      if (it == owned_.end() || it->second.token != token) {
        sub->cancel();
        return;
      }
      it->second.sub = sub;
    }
    observer_->on_lease_acquired(kind);
    observer_->on_owned_jobs(owned_jobs());
    auto pipe = std::make_shared<Pipe>();
    pipe->member = m;
    pipe->token = token;
    pipe->sub = sub;
    pipe->busy = true;
    drain(pipe);
  }

  // Moves what the poller queues into appends, one at a time and in order. Whatever is queued
  // when an append can start goes into it (one read's host changes become one append).
  struct Pipe {
    std::string member;
    std::string token;
    std::shared_ptr<Subscription> sub;
    std::mutex mu;
    std::vector<WatchItem> inbox;
    bool asking = false;  // a next() request is outstanding
    bool busy = false;    // someone drains, or an append is in flight
    bool closed = false;  // the end item arrived
  };

  void ask(const std::shared_ptr<Pipe>& pipe) {
    std::weak_ptr<Impl> weak = weak_from_this();
    pipe->sub->next([weak, pipe](WatchItem item) {
      bool start = false;
      {
        std::lock_guard<std::mutex> lock(pipe->mu);
        if (item.is_end()) pipe->closed = true;
        pipe->inbox.push_back(std::move(item));
        pipe->asking = false;
        if (!pipe->busy) start = pipe->busy = true;
      }
      if (!start) return;
      if (auto self = weak.lock()) self->drain(pipe);
    });
  }

  // Runs with pipe->busy set; clears it when there is nothing to append.
  void drain(const std::shared_ptr<Pipe>& pipe) {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(pipe->mu);
        if (pipe->asking || pipe->closed) break;
        pipe->asking = true;
      }
      ask(pipe);
      std::lock_guard<std::mutex> lock(pipe->mu);
      if (pipe->asking) break;  // nothing queued now: the answer drains when it comes
    }
    auto batch = std::make_shared<Batch>();
    {
      std::lock_guard<std::mutex> lock(pipe->mu);
      if (pipe->inbox.empty()) {
        pipe->busy = false;
        return;
      }
      for (auto& item : pipe->inbox) add(*batch, std::move(item));
      pipe->inbox.clear();
    }
    send(pipe, batch);
  }

  static void add(Batch& batch, WatchItem item) {
    if (item.is_end()) {
      batch.closed = true;
      if (item.error) batch.end = *item.error;
      return;
    }
    if (item.event->kind == WatchEventKind::kFinished) batch.finished = true;
    batch.events.push_back(std::move(*item.event));
  }

  void send(const std::shared_ptr<Pipe>& pipe, const std::shared_ptr<Batch>& batch) {
    const std::string& m = pipe->member;
    const std::string& token = pipe->token;
    if (batch->events.empty() && !batch->end) return drop(m, token);
    Owned o;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = owned_.find(m);
      if (it == owned_.end() || it->second.token != token) return;
      o = it->second;
    }
    std::string snapshot;
    for (const auto& e : batch->events) {
      if (e.snapshot != nullptr) snapshot = encode_snapshot(*e.snapshot);
    }
    if (snapshot.empty()) {
      // Change events carry no snapshot; the poller's latest is what followers show newcomers.
      auto latest = poller_.cached(o.scope, o.job, std::chrono::hours(24 * 365));
      if (latest) snapshot = encode_snapshot(*latest);
    }
    std::vector<std::string> args = {"EVAL",
                                     scripts::kAppend,
                                     "5",
                                     key(m, "lease"),
                                     key(m, "state"),
                                     key(m, "log"),
                                     registry(),
                                     key(m, "epoch"),
                                     token,
                                     channel(m),
                                     std::to_string(config_.history_limit),
                                     snapshot,
                                     batch->finished ? "1" : "0",
                                     std::to_string(config_.finished_retention.count()),
                                     m,
                                     batch->end ? error_json(*batch->end) : "",
                                     std::to_string(scheduler_.wall_ms())};
    for (const auto& e : batch->events) args.push_back(encode_event(e));
    std::weak_ptr<Impl> weak = weak_from_this();
    redis_.command(std::move(args), [weak, pipe, batch](Result<RedisReply> r) {
      auto self = weak.lock();
      if (!self) return;
      if (!r) {
        // Redis did not take it: the same batch again (the poller's queue collapses meanwhile).
        spdlog::info("event=append_retry job={} {}", pipe->member, r.error().describe());
        self->scheduler_.after(self->config_.retry_every, [weak, pipe, batch] {
          if (auto again = weak.lock()) again->send(pipe, batch);
        });
        return;
      }
      if (r->as_integer() == -1) return self->lose(pipe->member, pipe->token, "fenced");
      self->observer_->on_appended(batch->events.size());
      if (batch->closed || batch->finished) return self->drop(pipe->member, pipe->token);
      self->drain(pipe);
    });
  }

  // The job ended (or the poller did): not owned any more, the lease went with the append.
  void drop(const std::string& m, const std::string& token) {
    std::shared_ptr<Subscription> sub;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = owned_.find(m);
      if (it == owned_.end() || it->second.token != token) return;
      sub = std::move(it->second.sub);
      owned_.erase(it);
    }
    if (sub) sub->cancel();
    observer_->on_owned_jobs(owned_jobs());
  }

  void lose(const std::string& m, const std::string& token, const char* kind) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = owned_.find(m);
      if (it == owned_.end() || it->second.token != token) return;
    }
    spdlog::warn("event=lease_lost job={} replica={} reason={}", m, config_.replica_id, kind);
    observer_->on_lease_lost(kind);
    drop(m, token);
  }

  RedisClient& redis_;
  Scheduler& scheduler_;
  WatchHub& front_;
  WatchHub& poller_;
  const RedisWatchFeedConfig config_;
  ReplicaObserver default_observer_;
  ReplicaObserver* observer_;

  mutable std::mutex mu_;
  bool stopped_ = false;
  std::map<std::string, Followed> followed_;
  std::map<std::string, Owned> owned_;
  // Followed jobs polled here while Redis could not be asked.
  std::map<std::string, std::shared_ptr<Subscription>> local_;
  std::shared_ptr<Timer> renew_timer_;
  std::shared_ptr<Timer> scan_timer_;
};

Result<std::unique_ptr<RedisWatchFeed>> RedisWatchFeed::create(
    boost::asio::io_context& io, RedisClient& redis, RedisClientConfig subscriber,
    Scheduler& scheduler, WatchHub& front, WatchHub& poller, RedisWatchFeedConfig config,
    ReplicaObserver* observer) {
  auto impl = std::make_shared<Impl>(redis, scheduler, front, poller, std::move(config), observer);
  std::weak_ptr<Impl> weak = impl;
  // A job the poller saw end ran again: every replica follows it through the shared log.
  poller.set_rerun_listener([weak](const Scope& scope, std::int64_t job) {
    if (auto self = weak.lock()) self->reopened(scope, job);
  });
  subscriber.on_message = [weak](const RedisMessage& m) {
    if (auto self = weak.lock()) self->on_message(m);
  };
  auto on_state = subscriber.on_state;
  subscriber.on_state = [weak, on_state](bool up, const std::string& cause) {
    if (on_state) on_state(up, cause);
    if (auto self = weak.lock()) self->on_subscriber_state(up);
  };
  auto client = RedisClient::create(io, std::move(subscriber));
  if (!client) return client.error();
  impl->subscriber_ = std::move(client.value());
  return std::unique_ptr<RedisWatchFeed>(new RedisWatchFeed(std::move(impl)));
}

RedisWatchFeed::~RedisWatchFeed() {
  impl_->stop(std::chrono::milliseconds(0));
  impl_->subscriber_->shutdown();
}

void RedisWatchFeed::start() { impl_->start(); }
void RedisWatchFeed::stop(std::chrono::milliseconds wait) { impl_->stop(wait); }

void RedisWatchFeed::follow(const Scope& scope, std::int64_t job_instance_id) {
  impl_->follow(scope, job_instance_id);
}

void RedisWatchFeed::unfollow(const Scope& scope, std::int64_t job_instance_id) {
  impl_->unfollow(scope, job_instance_id);
}

void RedisWatchFeed::submitted(const Scope& scope, std::int64_t job_instance_id) {
  impl_->submitted(scope, job_instance_id);
}

bool RedisWatchFeed::poke(std::int64_t job_instance_id) { return impl_->poke(job_instance_id); }

void RedisWatchFeed::reload(const Scope& scope, std::int64_t job_instance_id) {
  impl_->reload(scope, job_instance_id);
}

bool RedisWatchFeed::callback(std::int64_t job_instance_id) {
  return impl_->poke(job_instance_id, /*callback=*/true);
}

void RedisWatchFeed::reopened(const Scope& scope, std::int64_t job_instance_id,
                              std::function<void()> shared) {
  impl_->reopened(scope, job_instance_id, std::move(shared));
}

std::size_t RedisWatchFeed::owned_jobs() const { return impl_->owned_jobs(); }
std::size_t RedisWatchFeed::followed_jobs() const { return impl_->followed_jobs(); }

}  // namespace jobgw::core
