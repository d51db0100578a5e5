/** How the store talks to its Lua script: the arguments of a batch of hits, and the reading of its reply. */
import type { HitResult } from '../throttle-store';
import { THROTTLE_SCRIPT, THROTTLE_SHA } from './throttle-script.lua';

// How the Redis store talks to the throttle script (throttle-script.lua.ts): commands out, replies in.

/** A hit as the script takes it. */
export interface ScriptHit {
  readonly key: string;
  readonly limit: number;
  readonly duration: number;
  /** The throttle's clock, or `undefined` for the server's TIME. */
  readonly now: number | undefined;
  /** `s`: DRF's sliding log; `g`: GCRA. */
  readonly algorithm: 's' | 'g';
  /** What a plain hit (cost 1, no block, decided alone) leaves `undefined`: one field, so hits keep one shape. */
  readonly extra?: HitExtra;
}

/** A hit's cost and block, and whether it opens an all-or-none unit (`hitAll`). */
export interface HitExtra {
  /** Requests it counts as: a whole number >= 0, 0 a look. */
  readonly cost: number;
  /** Seconds a refusal by the count blocks the key; 0 for none. */
  readonly blockSec: number;
  /**
   * On the first hit of a request decided all or none: the number of its hits, which follow it (this one
   * included) in the same script; 0 otherwise.
   */
  readonly unit: number;
}

/** Hits per script: a batch beyond this goes as several scripts in the same write. */
export const HITS_PER_SCRIPT = 256;

/** A batch's commands, `groups` of hits that may share a script, each cut by {@link scriptChunks}; and their hits. */
export function scriptsOf<T extends ScriptHit>(
  groups: readonly T[][],
  expiry: string,
): { commands: string[][]; hitsOf: T[][] } {
  const commands: string[][] = [];
  const hitsOf: T[][] = [];
  for (const group of groups) {
    for (const hits of scriptChunks(group)) {
      commands.push(scriptCommand(hits, 0, hits.length, expiry));
      hitsOf.push(hits);
    }
  }
  return { commands, hitsOf };
}

/**
 * A batch cut into the hits of each script: {@link HITS_PER_SCRIPT} at most, but an all-or-none unit is never cut
 * (its script is longer instead). A batch that fits is itself, not a copy.
 */
export function scriptChunks<T extends ScriptHit>(hits: readonly T[]): T[][] {
  if (hits.length <= HITS_PER_SCRIPT) return [hits as T[]];
  const chunks: T[][] = [];
  let from = 0;
  let unitEnd = 0;
  for (let i = 0; i < hits.length; i++) {
    if (i - from >= HITS_PER_SCRIPT && i >= unitEnd) {
      chunks.push(hits.slice(from, i));
      from = i;
    }
    const unit = hits[i].extra?.unit ?? 0;
    if (unit > 0) unitEnd = i + unit;
  }
  chunks.push(hits.slice(from));
  return chunks;
}

/**
 * `EVALSHA <sha> <n> <keys...> <expiry> <groups...>` for `hits[from, to)`: a group per run of consecutive hits with the
 * same settings, `<hits> <limit> <duration> <now|-> <s|g>`, then ` <cost> <blockSec>` for hits with an
 * {@link HitExtra}; `a <n>` before the group of an all-or-none unit's first hit. A route's hits alternate between its
 * throttles, a busy route's batch is mostly one throttle's: arguments grow with keys, not with keys times settings.
 */
export function scriptCommand(hits: readonly ScriptHit[], from: number, to: number, expiry: string): string[] {
  const n = to - from;
  const command = new Array<string>(4 + n);
  command[0] = 'EVALSHA';
  command[1] = THROTTLE_SHA;
  command[2] = String(n);
  command[3 + n] = expiry;
  let first = hits[from];
  let run = 0;
  for (let i = from; i < to; i++) {
    const hit = hits[i];
    command[3 + i - from] = hit.key;
    const unit = hit.extra === undefined ? 0 : hit.extra.unit;
    if (run > 0 && (unit > 0 || !sameSettings(hit, first))) {
      command.push(group(run, first));
      first = hit;
      run = 0;
    }
    if (unit > 0) command.push(`a ${unit}`);
    run++;
  }
  if (run > 0) command.push(group(run, first));
  return command;
}

const sameSettings = (a: ScriptHit, b: ScriptHit): boolean =>
  a.limit === b.limit &&
  a.duration === b.duration &&
  a.now === b.now &&
  a.algorithm === b.algorithm &&
  (a.extra === b.extra ||
    (a.extra !== undefined &&
      b.extra !== undefined &&
      a.extra.cost === b.extra.cost &&
      a.extra.blockSec === b.extra.blockSec));

function group(run: number, hit: ScriptHit): string {
  const settings = `${run} ${hit.limit} ${hit.duration} ${hit.now ?? '-'} ${hit.algorithm}`;
  return hit.extra === undefined ? settings : `${settings} ${hit.extra.cost} ${hit.extra.blockSec}`;
}

/** A hit the script could not count (`e <what>`): its settings, or the expiry they give, are out of range. */
export class UncountableHitError extends Error {
  constructor(readonly what: string) {
    super(`its ${what} is out of range`);
    this.name = 'UncountableHitError';
  }
}

/**
 * Reads the throttle script's reply (throttle-script.lua.ts): the server
 * time, then `<0|1> <now> <count> <oldest|->` per hit, one line each, found
 * by scanning for separators: no split arrays, no strings but the numbers'
 * own; or `e <what>` for a hit the script could not count, that hit's
 * {@link UncountableHitError} and no other's. `null` for `x <server>`, a
 * batch that reached Redis after its expiry and was not applied. Throws
 * when the reply is not `count` hits.
 */
export function parseScriptReply(reply: unknown, count: number): Array<HitResult | UncountableHitError> | null {
  const text = textOf(reply);
  if (text.charCodeAt(0) === X) return null;
  const results = new Array<HitResult | UncountableHitError>(count);
  let start = text.indexOf('\n') + 1;
  for (let i = 0; i < count; i++) {
    if (start === 0) throw unexpected(reply);
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    results[i] = parseHit(text, start, end, reply);
    start = end === text.length ? 0 : end + 1;
  }
  if (start !== 0) throw unexpected(reply);
  return results;
}

/** One hit's line, `text[start, end)`. */
function parseHit(text: string, start: number, end: number, reply: unknown): HitResult | UncountableHitError {
  const first = text.charCodeAt(start);
  if (first === E) {
    const what = text.slice(start + 2, end);
    if (text.charCodeAt(start + 1) !== SPACE || !/^[a-z]+$/.test(what)) throw unexpected(reply);
    return new UncountableHitError(what);
  }
  const a = start + 1;
  const b = text.indexOf(' ', a + 1);
  const c = text.indexOf(' ', b + 1);
  if (text.charCodeAt(a) !== SPACE || b < 0 || c < 0 || c >= end || (first !== ZERO && first !== ONE))
    throw unexpected(reply);
  const now = Number(text.slice(a + 1, b));
  const count = Number(text.slice(b + 1, c));
  const oldest = text.charCodeAt(c + 1) === DASH && end === c + 2 ? null : Number(text.slice(c + 1, end));
  if (!Number.isFinite(now) || !Number.isInteger(count) || (oldest !== null && !Number.isFinite(oldest)))
    throw unexpected(reply);
  return { allowed: first === ONE, now, count, oldest };
}

/** The server time a reply carries, in seconds; `NaN` when unreadable. */
export function serverTimeOf(reply: unknown): number {
  if (typeof reply !== 'string') return Number.NaN;
  if (reply.charCodeAt(0) === X) return Number(reply.slice(2));
  const end = reply.indexOf('\n');
  return Number(end < 0 ? reply : reply.slice(0, end));
}

function textOf(reply: unknown): string {
  if (typeof reply === 'string') return reply;
  if (Buffer.isBuffer(reply)) return reply.toString('latin1');
  throw unexpected(reply);
}

const ZERO = 48;
const ONE = 49;
const X = 120;
const E = 101;
const DASH = 45;
const SPACE = 32;

function unexpected(reply: unknown): Error {
  return new Error(`unexpected reply from the throttle script: ${JSON.stringify(reply)}`);
}

/** The same command by the script's text: EVAL also loads it for the next EVALSHA. */
export function asEval(command: readonly string[]): string[] {
  const copy = command.slice();
  copy[0] = 'EVAL';
  copy[1] = THROTTLE_SCRIPT;
  return copy;
}

/** The same command with another expiry (ARGV[1], right after the keys). */
export function withExpiry(command: readonly string[], expiry: string): string[] {
  const copy = command.slice();
  copy[3 + Number(command[2])] = expiry;
  return copy;
}

/** `x <server>`: the script refused a batch that reached it after its expiry. */
export function isRefused(reply: unknown): boolean {
  return typeof reply === 'string' && reply.charCodeAt(0) === X;
}

export function isNoScript(reply: unknown): boolean {
  return reply instanceof Error && reply.message.startsWith('NOSCRIPT');
}
