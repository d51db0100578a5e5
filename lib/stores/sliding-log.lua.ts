import { createHash } from 'node:crypto';

/**
 * DRF's sliding log as one Redis step, so that concurrent requests from any
 * number of processes cannot over-admit (DRF's get-then-set can).
 *
 * KEYS[1]  the log: a LIST of timestamps, newest at the head, oldest at the tail.
 * ARGV[1]  the limit N;  ARGV[2]  the duration in seconds;
 * ARGV[3]  "now" in seconds, or "" to read the server's TIME (so that
 *          processes with skewed clocks agree; an injected test clock wins).
 * Returns  { allowed (0|1), now, count, oldest-or-"" }. The timestamps are
 *          strings: a Lua number in a reply would be truncated to an integer.
 *
 * Cost does not grow with N: expired entries are popped from the tail, each
 * once in its life (amortised O(1)), and LLEN, LINDEX -1 and LPUSH are O(1).
 * The script touches KEYS[1] only, so it runs on Redis Cluster unchanged.
 * A key of another type (say a value written by a get/set cache under the
 * same name) is replaced: the throttle owns the keys of its format.
 */
export const SLIDING_LOG_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local duration = tonumber(ARGV[2])
local stamp = ARGV[3]
if stamp == '' then
  local t = redis.call('TIME')
  stamp = t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
end
local now = tonumber(stamp)
local kind = redis.call('TYPE', key)['ok']
if kind ~= 'list' and kind ~= 'none' then redis.call('DEL', key) end
local cutoff = now - duration
local oldest = redis.call('LINDEX', key, -1)
while oldest and tonumber(oldest) <= cutoff do
  redis.call('RPOP', key)
  oldest = redis.call('LINDEX', key, -1)
end
local count = redis.call('LLEN', key)
if count >= limit then
  return {0, stamp, count, oldest or ''}
end
redis.call('LPUSH', key, stamp)
redis.call('PEXPIRE', key, math.ceil(duration * 1000))
return {1, stamp, count + 1, oldest or stamp}
`;

/** What EVALSHA calls the script by: its SHA-1, as Redis computes it. */
export const SLIDING_LOG_SHA = createHash('sha1').update(SLIDING_LOG_SCRIPT).digest('hex');
