/**
 * Where a key's block lives on Redis, and the Lua both scripts (throttle-script.lua.ts, key-admin.lua.ts) read and
 * write it with. The twin of `startBlock()` and `blockedResult()` in algorithms.ts.
 *
 * In the key's own value, never in a second key:
 * - a sliding log (a LIST) holds it as its oldest entry, `b<until>` at the tail, which every read of the log
 *   fetches already (`LINDEX -1`); stamps are numbers, so the `b` tells it apart;
 * - a GCRA value (a STRING, the tat) becomes `b<until> <tat>` (or `b<until>` for a key never admitted), which
 *   `tonumber()` refuses: the common read (a plain number) costs nothing more.
 *
 * So an unblocked hit pays no command for the block, a Cluster needs no second key in the log's slot (no
 * `cacheFormat` is refused for it: any key works), and forgetting a key (DEL) forgets its block with it. `until`
 * is on the decision clock (the server's TIME, or the throttle's), written with 17 digits so it reads back as the
 * same double. A block never lowers the key's expiry, and raises it to the block's end when that is later.
 *
 *   blocked_reply(stamp, limit, ends, duration) -> '0 <now> <limit> <ends - duration>'   (DRF's wait: the block's)
 *   block_list(key, ends, now) -> nil, or 'e expiry' (nothing written)   a log: its marker set or replaced
 *   gcra_value(stored) -> tat text or nil, block end or nil               a GCRA value that is not a plain number
 *   gcra_blocked_value(ends, tat) -> 'b<ends>[ <tat>]'
 */
export const BLOCK_LUA = `
-- 'b': the first byte of a block entry (a log's tail) or value (GCRA).
local BLOCKED = 98
local function fmt(x) return string.format('%.17g', x) end

local function blocked_reply(stamp, limit, ends, duration)
  return '0 ' .. stamp .. ' ' .. limit .. ' ' .. fmt(ends - duration)
end

-- Raises the key's expiry to 'ms' if it is lower (or absent); never lowers it.
local function expire_at_least(key, ms)
  local ttl = redis.call('PTTL', key)
  if ttl < ms then redis.call('PEXPIRE', key, ms) end
end

-- Blocks a log until 'ends': replaces the marker at its tail, or appends one.
local function block_list(key, ends, now)
  local ms = math.ceil((ends - now) * 1000)
  if not (ms >= 1 and ms <= MAX_MS) then return 'e expiry' end
  local marker = 'b' .. fmt(ends)
  local len = redis.call('LLEN', key)
  local tail = len > 0 and redis.call('LINDEX', key, -1)
  if tail and string.byte(tail) == BLOCKED then redis.call('LSET', key, -1, marker)
  else redis.call('RPUSH', key, marker) end
  expire_at_least(key, ms)
  return nil
end

local function gcra_value(stored)
  local ends, tat = string.match(stored, '^b(%S+) ?(%S*)$')
  if not ends then return nil, nil end
  return tonumber(tat) and tat or nil, tonumber(ends)
end

local function gcra_blocked_value(ends, tat)
  if tat then return 'b' .. fmt(ends) .. ' ' .. tat end
  return 'b' .. fmt(ends)
end
`;
