/**
 * GCRA (the generic cell rate algorithm) as one Redis step. Its TypeScript
 * twin is `gcraHit()` in algorithms.ts (the memory and get/set stores' step):
 * the same operations in the same order, `gcraSlack()` included; a change to
 * one is made to both. A Lua function of the throttle script
 * (throttle-script.lua.ts) with the sliding log's signature and reply:
 *
 *   gcra(key, limit, duration, stamp, now) -> '<0|1> <now> <count> <oldest|->'
 *
 * One number per key, the theoretical arrival time `tat`, kept as a STRING
 * with 17 significant digits (exact for a double). It expires a whole
 * duration of real time after its last admission (by then `tat <= now` on
 * any honest clock, so "no key" is the same state); not at `tat`, which is
 * measured on the throttle's clock, perhaps a test's, not the server's.
 *
 * With `interval = duration / limit`, a hit at `now` is allowed iff
 * `max(tat, now) + interval - now <= duration`; then `tat` becomes
 * `max(tat, now) + interval`. A denied hit changes nothing. The reply has
 * the sliding log's shape (see `throttle-store.ts` and docs/algorithms.md):
 * denied, `count = limit` and `oldest = nextAllowedAt - duration`; allowed,
 * `count` slots in use and `oldest + duration - now` until one more frees.
 * The operations are those of the reference model, in the same order, plus
 * the slack of `gcraSlack()` (algorithms.ts): a burst of `limit` hits at a
 * Unix time must not lose its last hit to rounding.
 */
export const GCRA_LUA = `
local function gcra(key, limit, duration, stamp, now)
  if limit <= 0 then return '0 ' .. stamp .. ' 0 -' end
  local interval = duration / limit
  local slack = math.min(limit * 1e-6, interval / 2)
  local stored = redis.pcall('GET', key)
  local tat = now
  if type(stored) == 'table' then
    redis.call('DEL', key)
  elseif stored then
    tat = math.max(tonumber(stored) or now, now)
  end
  if tat + interval - now <= duration + slack then
    local newTat = tat + interval
    -- Kept at least a whole duration of real time: 'now' may be a test clock, unrelated to the server's.
    local expiry = math.ceil(math.max(newTat - now, duration) * 1000)
    -- At most 1.5 durations once the settings are checked; checked again before the write, as the log does.
    if not (expiry >= 1 and expiry <= MAX_MS) then return 'e expiry' end
    redis.call('SET', key, string.format('%.17g', newTat), 'PX', expiry)
    local count = math.min(limit, math.ceil((newTat - now - slack) / interval))
    local oldest = newTat - duration - (count - 1) * interval
    return '1 ' .. stamp .. ' ' .. count .. ' ' .. string.format('%.17g', oldest)
  end
  local nextAllowedAt = tat + interval - duration
  return '0 ' .. stamp .. ' ' .. limit .. ' ' .. string.format('%.17g', nextAllowedAt - duration)
end
`;
