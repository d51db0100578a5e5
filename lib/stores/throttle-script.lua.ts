import { createHash } from 'node:crypto';
import { GCRA_LUA } from './gcra.lua';
import { SLIDING_LOG_LUA } from './sliding-log.lua';

/**
 * The one Lua script the Redis store runs: a whole batch of hits (every hit
 * that queued during the last round trip) in one EVALSHA, atomic on the
 * server, timed by the server's `TIME`. One command per batch rather than
 * one per hit: the client builds, writes and parses one command, and Redis
 * starts one script, whatever the number of requests in flight.
 *
 * KEYS[i]        hit i's key (a Cluster gets one hit per script: its keys
 *                live on different slots).
 * ARGV[1]        the server time past which the batch must not be applied,
 *                or "": the client has answered its requests without Redis
 *                by then, so running it later (a server resuming from a
 *                freeze, a queue drained after a reconnect) would count
 *                requests that were never counted for their clients. Such a
 *                batch answers `x <server>` and changes nothing.
 * ARGV[4i-2 ..]  hit i: the limit N; the duration in seconds; "now" in
 *                seconds, or "" for the server's TIME (processes with skewed
 *                clocks then agree; an injected test clock wins); `s` for
 *                DRF's sliding log or `g` for GCRA.
 *
 * The reply is one string: the server time, then a line per hit,
 * `<0|1> <now> <count> <oldest|->` (see script-reply.ts). No nested array
 * to build and parse, and no Lua number truncated to an integer on the way
 * out (times are strings, written with 17 digits).
 */
export const THROTTLE_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local server = t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
if ARGV[1] ~= '' and tonumber(server) > tonumber(ARGV[1]) then return 'x ' .. server end
${SLIDING_LOG_LUA}
${GCRA_LUA}
local out = { server }
for i = 1, #KEYS do
  local a = 4 * i - 2
  local stamp = ARGV[a + 2]
  if stamp == '' then stamp = server end
  local step = ARGV[a + 3] == 'g' and gcra or sliding_log
  out[i + 1] = step(KEYS[i], tonumber(ARGV[a]), tonumber(ARGV[a + 1]), stamp, tonumber(stamp))
end
return table.concat(out, '\\n')
`;

/** What EVALSHA calls the script by: its SHA-1, as Redis computes it. */
export const THROTTLE_SHA = createHash('sha1').update(THROTTLE_SCRIPT).digest('hex');
