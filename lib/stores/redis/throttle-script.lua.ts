/** The one Lua script the Redis store runs: a batch of hits, each by its own algorithm (sliding log or GCRA). */
import { createHash } from 'node:crypto';
import { BLOCK_LUA } from './block.lua';
import { GCRA_LUA, GCRA_WEIGHTED_LUA } from './gcra.lua';
import { SLIDING_LOG_LUA, SLIDING_LOG_WEIGHTED_LUA } from './sliding-log.lua';

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
 * ARGV[2 ..]     the hits, in groups of consecutive hits that share their
 *                settings, one string each: `<hits> <limit> <duration>
 *                <now> <s|g>` for the next `<hits>` keys. The limit N; the
 *                duration in seconds; "now" in seconds, or `-` for the
 *                server's TIME (processes with skewed clocks then agree; an
 *                injected test clock wins); `s` for DRF's sliding log or `g`
 *                for GCRA. A batch of one throttle's hits is one group: a
 *                hit costs the client and Redis one argument, its key.
 *                Hits with a cost other than 1 or a block add two fields,
 *                `... <s|g> <cost> <blockSec>` (sliding-log.lua.ts,
 *                gcra.lua.ts); a plain group is matched first, unchanged.
 *                `a <n>` (before a group) opens an all-or-none unit: the
 *                next `n` hits, one request's (`hitAll`). They are decided
 *                in turn and recorded as they go; if any is refused (or
 *                cannot be counted), those recorded are undone in reverse
 *                order (a log drops the stamps it pushed, a GCRA value gets
 *                back the tat it replaced, keeping a block set since); then
 *                each admitted hit answers its key's standing as it is then
 *                (a look's report, the block not asked): allowed, counted
 *                nowhere, as the memory store's hitAll() answers. A
 *                refusal's block stays. Nothing else runs meanwhile, so no other
 *                client ever sees a unit half recorded. A Cluster unit's
 *                keys share a slot (redis.store.ts refuses others).
 *
 * The reply is one string: the server time, then a line per hit,
 * `<0|1> <now> <count> <oldest|->` (read by script-protocol.ts). No nested array
 * to build and parse, and no Lua number truncated to an integer on the way
 * out (times are strings, written with 17 digits).
 *
 * A hit the script cannot count is that hit's failure, never the batch's:
 * settings out of range (a limit that is not a number >= 0, a duration that
 * is not > 0 or whose expiry in ms, up to twice the duration, is not a safe
 * integer, a `now` that is not a finite time, a cost that is not a whole
 * number >= 0, a block that is not >= 0) answer `e <what>` for each hit
 * of the group, and an expiry out of range answers `e expiry` for its hit,
 * both checked before anything is written: a key is never left without
 * its expiry (a `PEXPIRE` of 10^17 ms or more, which Lua hands Redis as
 * `1e+17`, fails after the write it follows). rate.ts refuses such rates
 * at startup; this is for what reaches the store some other way.
 */
export const THROTTLE_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local server = t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
if ARGV[1] ~= '' and tonumber(server) > tonumber(ARGV[1]) then return 'x ' .. server end
-- The largest whole number of ms a double holds exactly; rate.ts bounds a rate's duration by it.
local MAX_MS = 9007199254740991
-- What in a group's settings cannot be counted, or nil. NaN fails every comparison.
local function out_of_range(limit, duration, now)
  if not (limit and limit >= 0 and limit <= MAX_MS) then return 'limit' end
  if not (duration and duration > 0 and duration * 2000 <= MAX_MS) then return 'duration' end
  if not (now and now >= -MAX_MS / 1000 and now <= MAX_MS / 1000) then return 'now' end
  return nil
end
local out = { server }
-- The sliding logs this run has stepped, by key (see sliding-log.lua.ts); a key GCRA takes over is forgotten.
local known = {}
${SLIDING_LOG_LUA}
${GCRA_LUA}
-- The functions of costs, blocks and units (the weighted steps, the undo of a unit), made at the run's first group
-- that needs them: each function a script defines is a closure made on every run, and a batch of plain hits (the
-- common one) makes none of these.
local seam
local i = 0
-- The all-or-none unit under way: its hits still to come, whether one was refused, its admitted hits.
local unit_left, unit_refused, unit = 0, false, nil
for g = 2, #ARGV do
  local hits, limit, duration, stamp, algorithm = string.match(ARGV[g], '^(%d+) (%S+) (%S+) (%S+) ([sg])$')
  local cost, block, weighted = 1, 0, false
  if not hits then
    hits, limit, duration, stamp, algorithm, cost, block =
      string.match(ARGV[g], '^(%d+) (%S+) (%S+) (%S+) ([sg]) (%S+) (%S+)$')
    cost, block, weighted = tonumber(cost), tonumber(block), true
  end
  if hits then
    if stamp == '-' then stamp = server end
    limit, duration = tonumber(limit), tonumber(duration)
    local now = tonumber(stamp)
    local bad = out_of_range(limit, duration, now)
    if unit_left == 0 and not weighted then
      -- The common loop, as it always was: plain hits, no unit under way.
      for _ = 1, tonumber(hits) do
        i = i + 1
        local key = KEYS[i]
        if bad then
          out[i + 1] = 'e ' .. bad
        elseif algorithm == 'g' then
          known[key] = nil
          out[i + 1] = gcra(key, limit, duration, stamp, now)
        else
          out[i + 1] = sliding_log(known, key, limit, duration, stamp, now)
        end
      end
    else
      if not seam then
${BLOCK_LUA}
${SLIDING_LOG_WEIGHTED_LUA}
${GCRA_WEIGHTED_LUA}
        -- What in a group's cost or block cannot be counted, or nil.
        local function weights_out_of_range(cost, block)
          if not (cost and cost >= 0 and cost <= MAX_MS and cost == math.floor(cost)) then return 'cost' end
          if not (block and block >= 0 and block * 1000 <= MAX_MS) then return 'block' end
          return nil
        end
        -- A refused unit: its recorded hits undone, last first; then each admitted hit answers its key's standing.
        local function undo_unit(unit)
          for u = #unit, 1, -1 do
            local h = unit[u]
            if h.cost > 0 then
              if h.gcra then gcra_undo(h.key, h.replaced) else redis.call('LTRIM', h.key, h.cost, -1) end
            end
            known[h.key] = nil
          end
          for _, h in ipairs(unit) do
            if h.gcra then out[h.at] = gcra_standing_of(h.key, h.stamp, h.limit, h.duration, h.now)
            else out[h.at] = log_standing(h.key, h.stamp, h.now, h.duration) end
          end
        end
        seam = {
          weights_out_of_range = weights_out_of_range, undo_unit = undo_unit,
          sliding_log_weighted = sliding_log_weighted, gcra_weighted = gcra_weighted,
        }
      end
      local steps = seam
      if weighted and not bad then bad = steps.weights_out_of_range(cost, block) end
      for _ = 1, tonumber(hits) do
        i = i + 1
        local key = KEYS[i]
        local reply, replaced
        if bad then
          reply = 'e ' .. bad
        elseif algorithm == 'g' then
          known[key] = nil
          reply, replaced = steps.gcra_weighted(key, limit, duration, stamp, now, cost, block)
        else
          reply = steps.sliding_log_weighted(known, key, limit, duration, stamp, now, cost, block)
        end
        out[i + 1] = reply
        -- The group may run on past the unit's end: hits of later requests with the same settings.
        if unit_left > 0 then
          if string.byte(reply) ~= 49 then
            unit_refused = true
          else
            unit[#unit + 1] = { at = i + 1, key = key, gcra = algorithm == 'g', cost = cost, replaced = replaced,
              limit = limit, duration = duration, stamp = stamp, now = now }
          end
          unit_left = unit_left - 1
          if unit_left == 0 and unit_refused then steps.undo_unit(unit) end
        end
      end
    end
  else
    local n = string.match(ARGV[g], '^a (%d+)$')
    if not n or unit_left > 0 or tonumber(n) < 1 then
      return redis.error_reply('ERR restflow-throttle: a malformed group of hits: ' .. ARGV[g])
    end
    unit_left, unit_refused, unit = tonumber(n), false, {}
  end
end
if i ~= #KEYS or unit_left > 0 then
  return redis.error_reply('ERR restflow-throttle: ' .. i .. ' hits for ' .. #KEYS .. ' keys')
end
return table.concat(out, '\\n')
`;

/** What EVALSHA calls the script by: its SHA-1, as Redis computes it. */
export const THROTTLE_SHA = createHash('sha1').update(THROTTLE_SCRIPT).digest('hex');
