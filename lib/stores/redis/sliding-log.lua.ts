/**
 * DRF's sliding log as one Redis step, so that concurrent requests from any
 * number of processes cannot over-admit (DRF's get-then-set can). Its
 * TypeScript twin is `slidingLogHit()` in algorithms.ts (the memory and
 * get/set stores' step): the same decision, on a LIST rather than a ring; a
 * change to one is made to both. A Lua function of the throttle script
 * (throttle-script.lua.ts), which runs it once per hit of a batch:
 *
 *   sliding_log(known, key, limit, duration, stamp, now) -> '<0|1> <now> <count> <oldest|->'
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
 */
export const SLIDING_LOG_LUA = `
local function read_log(key, cutoff)
  local count = redis.pcall('LLEN', key)
  if type(count) ~= 'number' then
    redis.call('DEL', key)
    return { count = 0 }
  end
  if count == 0 then return { count = 0 } end
  local oldest = redis.call('LINDEX', key, -1)
  local head = count == 1 and oldest or redis.call('LINDEX', key, 0)
  if tonumber(oldest) > cutoff then return { count = count, head = head, oldest = oldest } end
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

local function sliding_log(known, key, limit, duration, stamp, now)
  local cutoff = now - duration
  local log = known[key]
  if not log or (log.count > 0 and tonumber(log.oldest) <= cutoff) then
    log = read_log(key, cutoff)
    known[key] = log
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
