/**
 * DRF's sliding log as one Redis step, so that concurrent requests from any
 * number of processes cannot over-admit (DRF's get-then-set can). Its
 * TypeScript twin is `slidingLogHit()` in algorithms.ts (the memory and
 * get/set stores' step): the same decision, on a LIST rather than a ring; a
 * change to one is made to both. A Lua function of the throttle script
 * (throttle-script.lua.ts), which runs it once per hit of a batch:
 *
 *   sliding_log(known, key, limit, duration, stamp, now) -> '<0|1> <now> <count> <oldest|->'
 *   sliding_log_weighted(known, key, limit, duration, stamp, now, cost, block) -> the same
 *   log_standing(key, stamp, now, duration) -> '1 <now> <count> <oldest|->'
 *
 * `stamp` is `now` as a string (the server's TIME, or the throttle's own
 * clock), written back unchanged so that no digit is lost on the way out.
 *
 * The log is a LIST of timestamps, newest at the head, sorted: a stamp
 * older than the head (a clock stepped back) is recorded as the head's.
 * Expired stamps form a tail. Each `redis.call` costs a fraction of a
 * microsecond plus its reply (an LRANGE of 8 stamps cost as much as LLEN
 * and two LINDEX together), so the step reads single values:
 * - A log is read by its length, oldest stamp and head (LLEN, LINDEX -1,
 *   LINDEX 0; one LINDEX for a log of one).
 * - A window sliding by one stamp per hit drops it with one LINDEX -2 and
 *   one LTRIM. A longer expired tail is found by binary search with LINDEX
 *   (O(log N) probes, each at worst a walk of the list's nodes, never of
 *   its entries one by one) and dropped by one LTRIM, or one DEL when the
 *   whole log expired. So a decision costs the same at any limit, including
 *   when 300 000 stamps expire at once.
 * - `known` is the script's own record of the logs it has stepped (length,
 *   head, oldest stamp): nothing else runs during a script, so a key hit
 *   again in the same batch is not read again unless its oldest stamp
 *   expired. A hot client's hits cost one LPUSH each.
 * - The key expires at the end of the `duration / 8` slice that holds its
 *   newest stamp, plus `duration`: never before its newest stamp expires,
 *   at most an eighth of a duration after. So the expiry is written when a
 *   stamp starts a new slice, not on every admission.
 *
 * A key of another type (a value a get/set cache wrote under the same name)
 * is replaced: the throttle owns the keys of its format.
 *
 * Cost and block, as `slidingLogHit()` decides them (algorithms.ts, whose
 * steps and reports these follow one for one; block.lua.ts for the block),
 * in `sliding_log_weighted`, which the script calls only for the groups that
 * have a cost or a block (or an all-or-none unit): a plain hit runs
 * `sliding_log`, the step as it was, not one operation more per hit.
 * - `need = max(cost, 1)`; allowed iff `count + need <= limit` (for cost 1
 *   the `count >= limit` refusal of old); `cost` copies of the stamp are
 *   recorded, none for a look (cost 0). A refusal reads the stamp whose
 *   leaving makes room (`LINDEX -(count + need - limit)`; for cost 1 at the
 *   limit that is the oldest, already read): one more command, refusals only.
 * - The block lives in the log itself, as its oldest entry `b<until>` (the
 *   list's tail, which every read fetches anyway): no second key, so a
 *   Cluster needs nothing more of the key's slot, and an unblocked hit costs
 *   nothing more than before (the tail's `tonumber()`, which was there, tells
 *   a block). A block that has ended is popped by the next read. While it
 *   holds, the log is not read further, and a hit on it in the same batch
 *   reads it again (`blocked_log`), so that a hit the script already knows
 *   pays no check for a block at all.
 *   The key's expiry is raised to the block's end if that is later (PTTL,
 *   on the blocking refusal only), never lowered: the stamps still count.
 * - A recorded hit of an all-or-none unit is undone by dropping its `cost`
 *   newest stamps (throttle-script.lua.ts); its answer is then the log's
 *   standing (`slidingLogStanding()`): the stamps in the window, the block
 *   not asked, read by binary search as `read_log` does.
 */
export const SLIDING_LOG_LUA = `
local function read_log(key, now, cutoff)
  local count = redis.pcall('LLEN', key)
  if type(count) ~= 'number' then
    redis.call('DEL', key)
    return { count = 0 }
  end
  if count == 0 then return { count = 0 } end
  local oldest = redis.call('LINDEX', key, -1)
  local first = tonumber(oldest)
  if not first then
    -- Not a stamp: the block entry, b<until> (block.lua.ts).
    local ends = tonumber(string.sub(oldest, 2)) or now
    -- Blocked: as blocked_log(ends) in the weighted steps.
    if ends > now then return { count = 1, oldest = '-1e308', blocked = ends } end
    -- A block that has ended: popped, and the log read as it stands.
    redis.call('RPOP', key)
    count = count - 1
    if count == 0 then return { count = 0 } end
    oldest = redis.call('LINDEX', key, -1)
    first = tonumber(oldest)
  end
  local head = count == 1 and oldest or redis.call('LINDEX', key, 0)
  if first > cutoff then return { count = count, head = head, oldest = oldest } end
  if tonumber(head) <= cutoff then
    redis.call('DEL', key)
    return { count = 0 }
  end
  -- A window sliding by one stamp per hit (a client at its limit) drops exactly one.
  local second = redis.call('LINDEX', key, -2)
  if tonumber(second) > cutoff then
    redis.call('LTRIM', key, 0, -2)
    return { count = count - 1, head = head, oldest = second }
  end
  -- stamp(lo) > cutoff >= stamp(hi): narrow to adjacent indexes, keep 0..lo.
  local lo, hi, kept = 0, count - 2, head
  while hi - lo > 1 do
    local mid = math.floor((lo + hi) / 2)
    local probe = redis.call('LINDEX', key, mid)
    if tonumber(probe) <= cutoff then hi = mid else lo = mid; kept = probe end
  end
  redis.call('LTRIM', key, 0, lo)
  return { count = lo + 1, head = head, oldest = kept }
end

-- The plain step (cost 1, no block): DRF's, as it always was; only a read finds a block.
local function sliding_log(known, key, limit, duration, stamp, now)
  local cutoff = now - duration
  local log = known[key]
  if not log or (log.count > 0 and tonumber(log.oldest) <= cutoff) then
    log = read_log(key, now, cutoff)
    known[key] = log
    if log.blocked then
      return '0 ' .. stamp .. ' ' .. limit .. ' ' .. string.format('%.17g', log.blocked - duration)
    end
  end
  if log.count >= limit then
    return '0 ' .. stamp .. ' ' .. log.count .. ' ' .. (log.oldest or '-')
  end
  local head, record, newest = log.head, stamp, now
  if head and tonumber(head) > now then record, newest = head, tonumber(head) end
  local slice = duration / 8
  local at = math.floor(newest / slice)
  local expiry
  if not head or math.floor(tonumber(head) / slice) ~= at then
    expiry = math.ceil(((at + 1) * slice + duration - now) * 1000)
    -- At most 1.125 durations once the settings are checked (throttle-script.lua.ts, MAX_MS); checked again
    -- anyway, before the write: a key must never be left without its expiry.
    if not (expiry >= 1 and expiry <= MAX_MS) then return 'e expiry' end
  end
  redis.call('LPUSH', key, record)
  if expiry then redis.call('PEXPIRE', key, expiry) end
  log.count, log.head, log.oldest = log.count + 1, record, log.oldest or record
  return '1 ' .. stamp .. ' ' .. log.count .. ' ' .. log.oldest
end
`;

/**
 * The log's steps with a cost, a block or in a unit, made by the script on a run's first need of them (see
 * throttle-script.lua.ts, `seam`), with block.lua.ts's functions in scope.
 */
export const SLIDING_LOG_WEIGHTED_LUA = `
-- A blocked log as the script knows it: its oldest stamp always out of the window, so that every hit on it reads
-- it again (the block may end within the batch) and no unblocked hit ever looks for a block.
local function blocked_log(ends)
  return { count = 1, oldest = '-1e308', blocked = ends }
end

-- Pushes 'n' copies of 'record' at the head, at most a thousand per LPUSH (unpack() is bounded by Lua's stack).
local function push_stamps(key, record, n)
  local args = {}
  for j = 1, math.min(n, 1000) do args[j] = record end
  while n > 0 do
    for j = #args, n + 1, -1 do args[j] = nil end
    redis.call('LPUSH', key, unpack(args))
    n = n - #args
  end
end

-- A refusal that counts (neither a limit of 0 nor a cost that never fits): blocks the log, or reports when
-- 'need' fits again.
local function log_refusal(known, key, log, limit, duration, stamp, now, need, block)
  if block == 0 and log.count > limit then return '0 ' .. stamp .. ' ' .. log.count .. ' ' .. log.oldest end
  local d = log.count + need - limit
  local freeing = d == 1 and log.oldest or redis.call('LINDEX', key, -d)
  if block > 0 then
    local ends = math.max(now + block, tonumber(freeing) + duration)
    local refused = block_list(key, ends, now)
    if refused then return refused end
    known[key] = blocked_log(ends)
    return blocked_reply(stamp, limit, ends, duration)
  end
  return '0 ' .. stamp .. ' ' .. limit .. ' ' .. freeing
end

-- The step with a cost or a block: the plain one's, but for 'need = max(cost, 1)', looks, and the refusal's block.
local function sliding_log_weighted(known, key, limit, duration, stamp, now, cost, block)
  if cost == 1 and block == 0 then return sliding_log(known, key, limit, duration, stamp, now) end
  local cutoff = now - duration
  local log = known[key]
  if not log or (log.count > 0 and tonumber(log.oldest) <= cutoff) then
    log = read_log(key, now, cutoff)
    known[key] = log
    if log.blocked then return blocked_reply(stamp, limit, log.blocked, duration) end
  end
  local need = 1
  if cost > 1 then need = cost end
  if log.count + need > limit then
    if limit <= 0 then return '0 ' .. stamp .. ' ' .. log.count .. ' ' .. (log.oldest or '-') end
    if cost > limit then
      return '0 ' .. stamp .. ' ' .. math.max(log.count, limit + 1) .. ' ' .. (log.oldest or '-')
    end
    return log_refusal(known, key, log, limit, duration, stamp, now, need, block)
  end
  if cost == 0 then return '1 ' .. stamp .. ' ' .. log.count .. ' ' .. (log.oldest or '-') end
  -- The plain step's record, of 'cost' stamps.
  local head, record, newest = log.head, stamp, now
  if head and tonumber(head) > now then record, newest = head, tonumber(head) end
  local slice = duration / 8
  local at = math.floor(newest / slice)
  local expiry
  if not head or math.floor(tonumber(head) / slice) ~= at then
    expiry = math.ceil(((at + 1) * slice + duration - now) * 1000)
    if not (expiry >= 1 and expiry <= MAX_MS) then return 'e expiry' end
  end
  push_stamps(key, record, cost)
  if expiry then redis.call('PEXPIRE', key, expiry) end
  log.count, log.head, log.oldest = log.count + cost, record, log.oldest or record
  return '1 ' .. stamp .. ' ' .. log.count .. ' ' .. log.oldest
end

-- What a hit decided but not recorded reports: the stamps in the window (the block not asked), changing nothing.
local function log_standing(key, stamp, now, duration)
  local len = redis.pcall('LLEN', key)
  if type(len) ~= 'number' or len == 0 then return '1 ' .. stamp .. ' 0 -' end
  local last = len - 1
  if string.byte(redis.call('LINDEX', key, -1)) == BLOCKED then last = len - 2 end
  local cutoff = now - duration
  if last < 0 or tonumber(redis.call('LINDEX', key, 0)) <= cutoff then return '1 ' .. stamp .. ' 0 -' end
  -- Newest first: stamp(lo) > cutoff; the last index still in the window.
  local lo, hi = 0, last
  local oldest = redis.call('LINDEX', key, last)
  if tonumber(oldest) > cutoff then
    lo = last
  else
    while hi - lo > 1 do
      local mid = math.floor((lo + hi) / 2)
      if tonumber(redis.call('LINDEX', key, mid)) > cutoff then lo = mid else hi = mid end
    end
    oldest = redis.call('LINDEX', key, lo)
  end
  return '1 ' .. stamp .. ' ' .. (lo + 1) .. ' ' .. oldest
end
`;
