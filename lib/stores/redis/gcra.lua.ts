/**
 * GCRA (the generic cell rate algorithm) as one Redis step. Its TypeScript
 * twin is `gcraHit()` in algorithms.ts (the memory and get/set stores' step):
 * the same operations in the same order, `gcraSlack()` included; a change to
 * one is made to both. A Lua function of the throttle script
 * (throttle-script.lua.ts) with the sliding log's signature and reply:
 *
 *   gcra(key, limit, duration, stamp, now) -> '<0|1> <now> <count> <oldest|->'
 *   gcra_weighted(key, limit, duration, stamp, now, cost, block) -> the same [, replaced]
 *   gcra_undo(key, replaced); gcra_standing_of(key, stamp, limit, duration, now) -> '1 ...'
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
 *
 * Cost and block, as `gcraHit()` decides them, step for step, in
 * `gcra_weighted` (the groups with a cost or a block, and units; a plain
 * hit runs `gcra`, the step as it was, which reads a block itself when the
 * value is not a number): a block
 * (block.lua.ts: the value `b<until> <tat>`) refuses first, then a limit of
 * 0; `need = max(cost, 1)` fits iff `tat + need * interval - now <=
 * duration + slack` (for cost 1, `1 * interval` is `interval` exactly: the
 * model's operation); then `tat` gains `cost` intervals, none for a look
 * (cost 0, which reports the standing). A cost that never fits reports
 * `count = limit + 1` and no wait; another refusal with `block` writes the
 * block until `max(now + block, nextAllowedAt)`, keeping the tat, with an
 * expiry that covers the block, the tat and a whole duration. A recorded
 * hit also returns the value it replaced, so that an all-or-none unit can
 * undo it (the tat back, a block set since kept) and answer the key's
 * standing (`gcraStandingOf()`).
 */
export const GCRA_LUA = `
-- The plain step (cost 1, no block): the model's, as it always was; a value that is not a number may be a block.
local function gcra(key, limit, duration, stamp, now)
  if limit <= 0 then
    -- A block refuses first, as gcraHit() asks it first.
    local stored = redis.pcall('GET', key)
    local ends = type(stored) == 'string' and tonumber(string.match(stored, '^b(%S+)'))
    if not (ends and ends > now) then return '0 ' .. stamp .. ' 0 -' end
    return '0 ' .. stamp .. ' ' .. limit .. ' ' .. string.format('%.17g', ends - duration)
  end
  local interval = duration / limit
  local slack = math.min(limit * 1e-6, interval / 2)
  local stored = redis.pcall('GET', key)
  local tat = now
  if type(stored) == 'table' then
    redis.call('DEL', key)
  elseif stored then
    local number = tonumber(stored)
    if not number then
      -- A block, b<until> <tat> (block.lua.ts): refused while it holds; once over, its tat counts.
      local ends, kept = string.match(stored, '^b(%S+) ?(%S*)$')
      ends = tonumber(ends)
      if ends and ends > now then
        return '0 ' .. stamp .. ' ' .. limit .. ' ' .. string.format('%.17g', ends - duration)
      end
      number = tonumber(kept) or now
    end
    tat = math.max(number, now)
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

/**
 * GCRA's steps with a cost, a block or in a unit, made by the script on a run's first need of them (see
 * throttle-script.lua.ts, `seam`), with block.lua.ts's functions in scope.
 */
export const GCRA_WEIGHTED_LUA = `
-- An admitted look's report: the slots in use at 'now' (0 when none is) and the oldest that gives the wait for one.
local function gcra_standing(stamp, tat, limit, duration, now, interval, slack)
  local count = math.max(0, math.min(limit, math.ceil((tat - now - slack) / interval)))
  if count == 0 then return '1 ' .. stamp .. ' 0 -' end
  return '1 ' .. stamp .. ' ' .. count .. ' ' .. fmt(tat - duration - (count - 1) * interval)
end

-- The step with a cost or a block (and a block found on a plain hit, or a limit of 0).
local function gcra_weighted(key, limit, duration, stamp, now, cost, block)
  local stored = redis.pcall('GET', key)
  local tat = now
  if type(stored) == 'table' then
    redis.call('DEL', key)
    stored = false
  elseif stored then
    local number = tonumber(stored)
    if number then
      tat = math.max(number, now)
    else
      local tat_text, ends = gcra_value(stored)
      if ends and ends > now then return blocked_reply(stamp, limit, ends, duration) end
      tat = math.max(tonumber(tat_text) or now, now)
    end
  end
  if limit <= 0 then return '0 ' .. stamp .. ' 0 -' end
  local interval = duration / limit
  local slack = math.min(limit * 1e-6, interval / 2)
  -- need * interval, need = max(cost, 1); for cost 1 the interval itself (as 1 * interval is).
  local span = interval
  if cost > 1 then span = cost * interval end
  if tat + span - now <= duration + slack then
    if cost == 0 then return gcra_standing(stamp, tat, limit, duration, now, interval, slack) end
    local newTat = tat + span
    -- Kept at least a whole duration of real time: 'now' may be a test clock, unrelated to the server's.
    local expiry = math.ceil(math.max(newTat - now, duration) * 1000)
    -- At most 1.5 durations once the settings are checked; checked again before the write, as the log does.
    if not (expiry >= 1 and expiry <= MAX_MS) then return 'e expiry' end
    redis.call('SET', key, string.format('%.17g', newTat), 'PX', expiry)
    local count = math.min(limit, math.ceil((newTat - now - slack) / interval))
    local oldest = newTat - duration - (count - 1) * interval
    return '1 ' .. stamp .. ' ' .. count .. ' ' .. string.format('%.17g', oldest), stored
  end
  if cost > limit then return '0 ' .. stamp .. ' ' .. (limit + 1) .. ' -' end
  local nextAllowedAt = tat + span - duration
  if block > 0 then
    local ends = math.max(now + block, nextAllowedAt)
    local expiry = math.ceil(math.max(ends - now, tat - now, duration) * 1000)
    if not (expiry >= 1 and expiry <= MAX_MS) then return 'e expiry' end
    -- The tat as stored (a block that ended keeps its tat after the b<until>).
    local tat_text = stored and (tonumber(stored) and stored or (gcra_value(stored)))
    redis.call('SET', key, gcra_blocked_value(ends, tat_text), 'PX', expiry)
    return blocked_reply(stamp, limit, ends, duration)
  end
  return '0 ' .. stamp .. ' ' .. limit .. ' ' .. string.format('%.17g', nextAllowedAt - duration)
end

-- Undoes a recorded hit of a refused unit: the tat it replaced comes back, a block set since stays.
local function gcra_undo(key, stored)
  local current = redis.pcall('GET', key)
  local ttl = redis.call('PTTL', key)
  if type(current) ~= 'string' or ttl <= 0 then return end
  local value = stored
  if not tonumber(current) then
    local _, ends = gcra_value(current)
    local tat_text = nil
    if stored then
      if tonumber(stored) then tat_text = stored else tat_text = gcra_value(stored) end
    end
    if ends then value = gcra_blocked_value(ends, tat_text) end
  end
  if value then redis.call('SET', key, value, 'PX', ttl) else redis.call('DEL', key) end
end

-- What a hit decided but not recorded reports: the key's standing (the block not asked), changing nothing.
local function gcra_standing_of(key, stamp, limit, duration, now)
  if limit <= 0 then return '1 ' .. stamp .. ' 0 -' end
  local stored = redis.pcall('GET', key)
  local tat = nil
  if type(stored) == 'string' then tat = tonumber(stored) or tonumber((gcra_value(stored))) end
  local interval = duration / limit
  local slack = math.min(limit * 1e-6, interval / 2)
  return gcra_standing(stamp, math.max(tat or now, now), limit, duration, now, interval, slack)
end
`;
