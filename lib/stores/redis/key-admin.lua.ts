/** The Lua script of the Redis store's calls on one key outside a hit: a refund and an admin's block. */
import { createHash } from 'node:crypto';
import { BLOCK_LUA } from './block.lua';

/**
 * One call on one key, atomic, timed by the server's `TIME` like a hit; the
 * twins of `slidingLogRefund()`, `gcraRefund()` and `startBlock()` in
 * algorithms.ts. Forgetting a key needs no script (DEL: the block lives in
 * the key's value, block.lua.ts).
 *
 * KEYS[1]   the key.
 * ARGV      `<r|b> <s|g> <limit> <duration> <now|-> <amount>`, one string:
 *           `r` gives back `amount` (a whole number) of the newest hits,
 *           `b` blocks the key for `amount` seconds; `s` a sliding log,
 *           `g` GCRA; `now` as in a hit (`-`: the server's TIME).
 *
 * A refund drops the newest stamps (a log) or takes `amount` intervals off
 * the tat, never below an empty key (`tat >= now`), and leaves a block as it
 * is. A block ends at `now + amount` unless a later one is there already;
 * it raises the key's expiry to its end, never lowers it (GCRA: at least a
 * whole duration and the tat, as a hit writes it). A key of another type
 * is left alone by a refund and replaced by a block, as a hit replaces it.
 *
 * Replies `ok`, or an error (settings out of range, nothing written).
 */
export const KEY_ADMIN_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local MAX_MS = 9007199254740991
${BLOCK_LUA}
local key = KEYS[1]
local op, algorithm, limit, duration, stamp, amount =
  string.match(ARGV[1], '^([rb]) ([sg]) (%S+) (%S+) (%S+) (%S+)$')
if not op then return redis.error_reply('ERR restflow-throttle: a malformed key call: ' .. tostring(ARGV[1])) end
if stamp == '-' then
  local t = redis.call('TIME')
  stamp = t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
end
limit, duration, amount = tonumber(limit), tonumber(duration), tonumber(amount)
local now = tonumber(stamp)
if not (limit and limit >= 0 and duration and duration > 0 and duration * 2000 <= MAX_MS and now
    and now >= -MAX_MS / 1000 and now <= MAX_MS / 1000 and amount and amount >= 0 and amount * 1000 <= MAX_MS) then
  return redis.error_reply('ERR restflow-throttle: a key call out of range: ' .. ARGV[1])
end

if algorithm == 's' then
  local len = redis.pcall('LLEN', key)
  if type(len) ~= 'number' then
    if op == 'r' then return 'ok' end
    redis.call('DEL', key)
    len = 0
  end
  local tail = len > 0 and redis.call('LINDEX', key, -1)
  local current = tail and string.byte(tail) == BLOCKED and (tonumber(string.sub(tail, 2)) or now)
  if op == 'r' then
    local n = math.min(amount, current and len - 1 or len)
    if n > 0 then redis.call('LTRIM', key, n, -1) end
    return 'ok'
  end
  local ends = now + amount
  if current and current >= ends then return 'ok' end
  local refused = block_list(key, ends, now)
  if refused then return redis.error_reply('ERR restflow-throttle: the block is too long to expire') end
  return 'ok'
end

local stored = redis.pcall('GET', key)
if type(stored) == 'table' then
  if op == 'r' then return 'ok' end
  redis.call('DEL', key)
  stored = false
end
local tat_text, current = nil, nil
if stored then
  if tonumber(stored) then tat_text = stored else tat_text, current = gcra_value(stored) end
end
local tat = tonumber(tat_text)
if op == 'r' then
  if limit <= 0 or not tat or tat <= now then return 'ok' end
  local refunded = fmt(math.max(tat - amount * (duration / limit), now))
  local value = refunded
  if current then value = gcra_blocked_value(current, refunded) end
  local ttl = redis.call('PTTL', key)
  if ttl <= 0 then ttl = math.ceil(duration * 1000) end
  redis.call('SET', key, value, 'PX', ttl)
  return 'ok'
end
local ends = now + amount
if current and current >= ends then return 'ok' end
local expiry = math.ceil(math.max(ends - now, (tat or now) - now, duration) * 1000)
if not (expiry >= 1 and expiry <= MAX_MS) then
  return redis.error_reply('ERR restflow-throttle: the block is too long to expire')
end
redis.call('SET', key, gcra_blocked_value(ends, tat_text), 'PX', expiry)
return 'ok'
`;

/** What EVALSHA calls the script by. */
export const KEY_ADMIN_SHA = createHash('sha1').update(KEY_ADMIN_SCRIPT).digest('hex');
