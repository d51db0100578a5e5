/**
 * DRF's sliding log as one Redis step, so that concurrent requests from any
 * number of processes cannot over-admit (DRF's get-then-set can). A Lua
 * function of the throttle script (throttle-script.lua.ts), which runs it
 * once per hit of a batch:
 *
 *   sliding_log(key, limit, duration, stamp, now) -> '<0|1> <now> <count> <oldest|->'
 *
 * `stamp` is `now` as a string (the server's TIME, or the throttle's own
 * clock), written back unchanged so that no digit is lost on the way out.
 *
 * The log is a LIST of timestamps, newest at the head, sorted: a stamp
 * older than the head (a clock stepped back) is recorded as the head's.
 * Expired stamps form a tail. The usual case, a window sliding by a stamp
 * or two per hit, pops them from the tail (up to 8, O(1) each); a longer
 * expired tail is found by binary search with LINDEX (O(log N) probes, each
 * at worst a walk of the list's nodes, never of its entries one by one) and
 * dropped by one LTRIM, or one DEL when the whole log expired. So a decision
 * costs the same at any limit, including when 300 000 stamps expire at once.
 *
 * A key of another type (a value a get/set cache wrote under the same name)
 * is replaced: the throttle owns the keys of its format.
 */
export const SLIDING_LOG_LUA = `
local function sliding_log(key, limit, duration, stamp, now)
  local POPS = 8
  local count = redis.pcall('LLEN', key)
  if type(count) == 'table' then
    redis.call('DEL', key)
    count = 0
  end
  local cutoff = now - duration
  local oldest = false
  if count > 0 then
    oldest = redis.call('LINDEX', key, -1)
    -- A sliding window loses a stamp or two per hit: popped from the tail, O(1) each.
    local pops = 0
    while oldest and pops < POPS and tonumber(oldest) <= cutoff do
      redis.call('RPOP', key)
      count = count - 1
      pops = pops + 1
      oldest = count > 0 and redis.call('LINDEX', key, -1)
    end
    if oldest and tonumber(oldest) <= cutoff then
      local head = redis.call('LINDEX', key, 0)
      if tonumber(head) <= cutoff then
        redis.call('DEL', key)
        count = 0
        oldest = false
      else
        -- stamp(lo) > cutoff >= stamp(hi): narrow to adjacent indexes, keep 0..lo.
        local lo, hi = 0, count - 1
        oldest = head
        while hi - lo > 1 do
          local mid = math.floor((lo + hi) / 2)
          local probe = redis.call('LINDEX', key, mid)
          if tonumber(probe) <= cutoff then hi = mid else lo = mid; oldest = probe end
        end
        redis.call('LTRIM', key, 0, lo)
        count = lo + 1
      end
    end
  end
  if count >= limit then
    return '0 ' .. stamp .. ' ' .. count .. ' ' .. (oldest or '-')
  end
  local record = stamp
  if count > 0 then
    local head = redis.call('LINDEX', key, 0)
    if tonumber(head) > now then record = head end
  end
  redis.call('LPUSH', key, record)
  redis.call('PEXPIRE', key, math.ceil(duration * 1000))
  return '1 ' .. stamp .. ' ' .. (count + 1) .. ' ' .. (oldest or record)
end
`;
