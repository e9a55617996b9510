#include "server/redis_job_catalog.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "core/replica/watch_event_codec.h"

namespace jobgw::server {
namespace {

// Every job ListJobs may show, with what each replica publishes about its streams, in one
// atomic read. KEYS: registry, recent, replicas. ARGV: prefix, max recent, alive since (ms).
// Returns {member, snapshot, caller, operator, submitted at, name, subscribers, ...}.
constexpr const char* kList = R"lua(
local members, seen = {}, {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if not seen[m] then seen[m] = true; table.insert(members, m) end
end
for _, m in ipairs(redis.call('ZREVRANGE', KEYS[2], 0, tonumber(ARGV[2]) - 1)) do
  if not seen[m] then seen[m] = true; table.insert(members, m) end
end
local subs = {}
for _, r in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], ARGV[3], '+inf')) do
  local kv = redis.call('HGETALL', ARGV[1] .. ':subs:' .. r)
  for i = 1, #kv, 2 do subs[kv[i]] = (subs[kv[i]] or 0) + tonumber(kv[i + 1]) end
end
local out = {}
for _, m in ipairs(members) do
  local base = ARGV[1] .. ':job:{' .. m .. '}:'
  local snapshot = redis.call('HGET', base .. 'state', 'snapshot') or ''
  local meta = redis.call('HMGET', base .. 'meta', 'caller', 'operator', 'at', 'name')
  if snapshot ~= '' or meta[3] then
    table.insert(out, m)
    table.insert(out, snapshot)
    table.insert(out, meta[1] or '')
    table.insert(out, meta[2] or '')
    table.insert(out, meta[3] or '0')
    table.insert(out, meta[4] or '')
    table.insert(out, string.format('%d', subs[m] or 0))
  end
end
return out
)lua";

// A submit's record and its place among the recent ones; old ones leave the set.
// KEYS: recent, meta. ARGV: member, now (ms), caller, operator, window (ms), name.
constexpr const char* kSubmitted = R"lua(
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (tonumber(ARGV[2]) - tonumber(ARGV[5])))
redis.call('HSET', KEYS[2], 'caller', ARGV[3], 'operator', ARGV[4], 'at', ARGV[2], 'name', ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 1
)lua";

// This replica's stream counts, replaced whole. KEYS: subs, replicas. ARGV: replica, now (ms),
// ttl (ms), member, count, ...
constexpr const char* kPublish = R"lua(
redis.call('DEL', KEYS[1])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (tonumber(ARGV[2]) - 10 * tonumber(ARGV[3])))
return 1
)lua";

bool parse_member(const std::string& m, core::Scope* scope, std::int64_t* job) {
  const auto first = m.find(':');
  const auto last = m.rfind(':');
  if (first == std::string::npos || last == first) return false;
  scope->type = m.substr(0, first);
  scope->id = m.substr(first + 1, last - first - 1);
  try {
    *job = std::stoll(m.substr(last + 1));
  } catch (...) {
    return false;
  }
  return *job > 0;
}

}  // namespace

std::string RedisJobCatalog::member(const core::Scope& scope, std::int64_t job_instance_id) {
  return (scope.type.empty() ? "biz" : scope.type) + ":" + scope.id + ":" +
         std::to_string(job_instance_id);
}

RedisJobCatalog::RedisJobCatalog(core::RedisClient& redis, core::Scheduler& scheduler,
                                 RedisJobCatalogConfig config, LocalSubscribers local)
    : redis_(redis), scheduler_(scheduler), config_(std::move(config)), local_(std::move(local)) {}

RedisJobCatalog::~RedisJobCatalog() { stop(); }

void RedisJobCatalog::start() { publish(); }

void RedisJobCatalog::stop() {
  *alive_ = false;
  if (timer_) timer_->cancel();
}

void RedisJobCatalog::publish() {
  if (!*alive_) return;
  std::vector<std::string> args = {"EVAL",
                                   kPublish,
                                   "2",
                                   config_.prefix + ":subs:" + config_.replica_id,
                                   config_.prefix + ":replicas",
                                   config_.replica_id,
                                   std::to_string(scheduler_.wall_ms()),
                                   std::to_string(3 * config_.publish_every.count())};
  for (const auto& [member, count] : local_()) {
    if (count == 0) continue;
    args.push_back(member);
    args.push_back(std::to_string(count));
  }
  redis_.command(std::move(args), [](core::Result<core::RedisReply>) {});
  std::weak_ptr<bool> alive = alive_;
  timer_ = scheduler_.after(config_.publish_every, [this, alive] {
    auto a = alive.lock();
    if (a && *a) publish();
  });
}

void RedisJobCatalog::submitted(const core::Scope& scope, std::int64_t job_instance_id,
                                SubmitRecord record) {
  const std::string m = member(scope, job_instance_id);
  redis_.command(
      {"EVAL", kSubmitted, "2", config_.prefix + ":recent",
       config_.prefix + ":job:{" + m + "}:meta", m, std::to_string(scheduler_.wall_ms()),
       record.caller, record.job_operator, std::to_string(config_.window.count()), record.name},
      [m](core::Result<core::RedisReply> reply) {
        if (!reply) {
          spdlog::warn("event=catalog_submit_not_recorded job={} {}", m, reply.error().describe());
        }
      });
}

void RedisJobCatalog::list(std::function<void(core::Result<std::vector<CatalogEntry>>)> done) {
  const std::int64_t alive_since = scheduler_.wall_ms() - 3 * config_.publish_every.count();
  redis_.command(
      {"EVAL", kList, "3", config_.prefix + ":jobs", config_.prefix + ":recent",
       config_.prefix + ":replicas", config_.prefix, std::to_string(config_.max_recent),
       std::to_string(alive_since)},
      [done = std::move(done)](core::Result<core::RedisReply> reply) {
        if (!reply) {
          core::Error error = reply.error();
          error.kind = core::ErrorKind::kTransport;
          error.message = "ListJobs needs Redis, which did not answer: " + error.message;
          done(error);
          return;
        }
        std::vector<CatalogEntry> entries;
        const auto& e = reply.value().elements;
        for (std::size_t i = 0; i + 6 < e.size(); i += 7) {
          CatalogEntry entry;
          if (!parse_member(e[i].text().value_or(""), &entry.scope, &entry.job_instance_id)) {
            continue;
          }
          const std::string snapshot = e[i + 1].text().value_or("");
          if (!snapshot.empty()) {
            auto decoded = core::decode_snapshot(snapshot);
            if (decoded) {
              entry.snapshot =
                  std::make_shared<const core::JobSnapshot>(std::move(decoded.value()));
            }
          }
          entry.caller = e[i + 2].text().value_or("");
          entry.job_operator = e[i + 3].text().value_or("");
          entry.first_seen_ms = e[i + 4].as_integer().value_or(0);
          entry.name = e[i + 5].text().value_or("");
          entry.subscribers = static_cast<std::size_t>(e[i + 6].as_integer().value_or(0));
          entries.push_back(std::move(entry));
        }
        done(std::move(entries));
      });
}

}  // namespace jobgw::server
