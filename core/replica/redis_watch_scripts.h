#pragma once

// The Lua scripts of RedisWatchFeed. Each runs atomically in Redis. Numbers that leave a script
// go through string.format('%d'): Redis turns Lua numbers into strings with %.14g, which would
// print a 16-digit seq as 1.8e+15.
namespace jobgw::core::redis_watch_scripts {

// Registers a job and takes its lease when nobody holds it. With reopen '1', a job whose log
// ended (a step retried after its end) is made unfinished again: its keys stop expiring, and
// one message on its channel ({"r": seq}) tells every replica's front hub that the end at that
// seq is no longer the last word.
// KEYS: registry, lease, epoch, state, log. ARGV: member, score (ms), replica, lease ttl ms,
// seq base, reopen ('1'/'0'), channel, now (ms).
// Returns {0} (finished or ended: nothing to poll), {1} (registered, another replica polls) or
// {2, token, seq, snapshot, reopened ('1'/'0')} (this replica polls from now on).
inline constexpr const char* kAcquire = R"lua(
local st = redis.call('HMGET', KEYS[4], 'finished', 'end')
local reopened = '0'
if st[1] == '1' or st[2] then
  if ARGV[6] ~= '1' then return {0} end
  redis.call('HDEL', KEYS[4], 'finished', 'end')
  for i = 3, 5 do redis.call('PERSIST', KEYS[i]) end
  reopened = '1'
  redis.call('PUBLISH', ARGV[7], '{"r":' .. (redis.call('HGET', KEYS[4], 'seq') or '0') ..
    ',"t":' .. ARGV[8] .. '}')
end
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then return {1} end
local epoch = redis.call('INCR', KEYS[3])
local token = ARGV[3] .. '#' .. epoch
redis.call('SET', KEYS[2], token, 'PX', ARGV[4])
if redis.call('HEXISTS', KEYS[4], 'seq') == 0 then redis.call('HSET', KEYS[4], 'seq', ARGV[5]) end
return {2, token, redis.call('HGET', KEYS[4], 'seq'), redis.call('HGET', KEYS[4], 'snapshot') or '',
  reopened}
)lua";

// Takes the leases of registered jobs nobody holds (their owner stopped renewing), and drops
// registry entries (and their keys) older than the window, and entries of jobs that ended.
// KEYS: registry. ARGV: prefix, replica, lease ttl ms, seq base, max adoptions, drop before (ms).
// Returns {member, token, seq, snapshot, ...}.
inline constexpr const char* kAdopt = R"lua(
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[6])) do
  for _, what in ipairs({'state', 'log', 'epoch', 'lease'}) do
    redis.call('DEL', ARGV[1] .. ':job:{' .. m .. '}:' .. what)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[6])
local out = {}
local max = tonumber(ARGV[5])
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local base = ARGV[1] .. ':job:{' .. m .. '}:'
  if redis.call('EXISTS', base .. 'lease') == 0 then
    local st = redis.call('HMGET', base .. 'state', 'finished', 'end')
    if st[1] == '1' or st[2] then
      redis.call('ZREM', KEYS[1], m)
    else
      local epoch = redis.call('INCR', base .. 'epoch')
      local token = ARGV[2] .. '#' .. epoch
      redis.call('SET', base .. 'lease', token, 'PX', ARGV[3])
      if redis.call('HEXISTS', base .. 'state', 'seq') == 0 then
        redis.call('HSET', base .. 'state', 'seq', ARGV[4])
      end
      table.insert(out, m)
      table.insert(out, token)
      table.insert(out, redis.call('HGET', base .. 'state', 'seq'))
      table.insert(out, redis.call('HGET', base .. 'state', 'snapshot') or '')
      if #out >= 4 * max then break end
    end
  end
end
return out
)lua";

// The owner's append: refused (-1) unless the lease still holds this token. Numbers the events
// after the log's last seq, keeps the latest snapshot, publishes one message with all of them
// and, when the job finished or its poller ended, retires it from the registry.
// KEYS: lease, state, log, registry, epoch. ARGV: token, channel, history limit, snapshot (''
// keeps the stored one), finished ('1'/'0'), retention ms, member, end ('' or JSON), sent at
// (ms), events...
inline constexpr const char* kAppend = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local cur = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
local first = cur + 1
local events = {}
for i = 10, #ARGV do
  cur = cur + 1
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'q', string.format('%d', cur), 'e', ARGV[i])
  table.insert(events, ARGV[i])
end
redis.call('HSET', KEYS[2], 'seq', string.format('%d', cur))
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'snapshot', ARGV[4]) end
if ARGV[5] == '1' then redis.call('HSET', KEYS[2], 'finished', '1') end
if ARGV[8] ~= '' then redis.call('HSET', KEYS[2], 'end', ARGV[8]) end
local snapshot = ARGV[4] ~= '' and ARGV[4] or 'null'
local ended = ARGV[8] ~= '' and ARGV[8] or 'null'
redis.call('PUBLISH', ARGV[2], '{"q":' .. string.format('%d', first) .. ',"t":' .. ARGV[9] ..
  ',"s":' .. snapshot .. ',"x":' .. ended .. ',"e":[' .. table.concat(events, ',') .. ']}')
if ARGV[5] == '1' or ARGV[8] ~= '' then
  redis.call('ZREM', KEYS[4], ARGV[7])
  redis.call('DEL', KEYS[1])
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
  redis.call('PEXPIRE', KEYS[5], ARGV[6])
end
return string.format('%d', cur)
)lua";

// A job's state and the newest events of its log, read together so the history reaches the
// state's seq. KEYS: state, log. ARGV: how many events. Returns {seq, snapshot, end, entries,
// finished}.
inline constexpr const char* kLoad = R"lua(
local st = redis.call('HMGET', KEYS[1], 'seq', 'snapshot', 'end', 'finished')
return {st[1] or '', st[2] or '', st[3] or '', redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[1]),
  st[4] or ''}
)lua";

// Renews the leases still held; returns 1 per lease renewed, 0 per lease lost.
// KEYS: leases. ARGV: ttl ms, then one token per key.
inline constexpr const char* kRenew = R"lua(
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i + 1] then
    redis.call('PEXPIRE', key, ARGV[1])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
)lua";

// Gives leases back (shutdown) where they still hold this replica's tokens.
// KEYS: leases. ARGV: one token per key.
inline constexpr const char* kRelease = R"lua(
local n = 0
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i] then n = n + redis.call('DEL', key) end
end
return n
)lua";

// After Redis was away, a replica that numbered a job's events itself (polling it locally) moves
// the log's seq past its own, so what the owner appends next is new to its streams, and every
// replica's next load or append sees a gap and sends its streams a SNAPSHOT.
// KEYS: state. ARGV: the replica's last seq.
inline constexpr const char* kBump = R"lua(
local cur = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local mine = tonumber(ARGV[1])
if mine >= cur then redis.call('HSET', KEYS[1], 'seq', string.format('%d', mine + 1)) end
return 1
)lua";

}  // namespace jobgw::core::redis_watch_scripts
