import { createHash } from 'node:crypto';

/**
 * The head every throttle script shares: the server's clock, the expiry
 * check, and the arguments. A hit carries the server time past which it
 * must not be applied (ARGV[4], "" for none): the client has answered that
 * request without Redis by then, so running it later (a server resuming
 * from a freeze, a queue drained after a reconnect) would count a request
 * that was never counted for its client. Such a hit answers `x <server>`
 * and changes nothing.
 *
 * KEYS[1]  the key;  ARGV[1] the limit N;  ARGV[2] the duration in seconds;
 * ARGV[3]  "now" in seconds, or "" for the server's TIME (processes with
 *          skewed clocks then agree; an injected test clock wins);
 * ARGV[4]  the expiry in server seconds, or "".
 *
 * A reply is one string, `<0|1> <now> <count> <oldest|-> <server time>`:
 * no nested array to build and parse, and no Lua number truncated to an
 * integer on the way out (times are strings, written with 17 digits).
 */
export const SCRIPT_HEAD = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local server = t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
if ARGV[4] ~= '' and tonumber(server) > tonumber(ARGV[4]) then return 'x ' .. server end
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local duration = tonumber(ARGV[2])
local stamp = ARGV[3]
if stamp == '' then stamp = server end
local now = tonumber(stamp)
`;

/**
 * DRF's sliding log as one Redis step, so that concurrent requests from any
 * number of processes cannot over-admit (DRF's get-then-set can).
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
 * The script touches KEYS[1] only, so it runs on Redis Cluster unchanged.
 * A key of another type (a value a get/set cache wrote under the same name)
 * is replaced: the throttle owns the keys of its format.
 */
export const SLIDING_LOG_SCRIPT = `${SCRIPT_HEAD}
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
  return '0 ' .. stamp .. ' ' .. count .. ' ' .. (oldest or '-') .. ' ' .. server
end
local record = stamp
if count > 0 then
  local head = redis.call('LINDEX', key, 0)
  if tonumber(head) > now then record = head end
end
redis.call('LPUSH', key, record)
redis.call('PEXPIRE', key, math.ceil(duration * 1000))
return '1 ' .. stamp .. ' ' .. (count + 1) .. ' ' .. (oldest or record) .. ' ' .. server
`;

/** What EVALSHA calls a script by: its SHA-1, as Redis computes it. */
export function scriptSha(script: string): string {
  return createHash('sha1').update(script).digest('hex');
}

export const SLIDING_LOG_SHA = scriptSha(SLIDING_LOG_SCRIPT);
