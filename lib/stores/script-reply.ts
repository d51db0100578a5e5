import { GCRA_SCRIPT, GCRA_SHA } from './gcra.lua';
import { SLIDING_LOG_SCRIPT } from './sliding-log.lua';
import type { HitResult } from './throttle-store';

/**
 * Reads a throttle script's reply, `<0|1> <now> <count> <oldest|-> <server>`,
 * by scanning for the four spaces: no split array, no intermediate strings
 * but the numbers' own. `null` for `x <server>`, a hit that arrived after
 * its expiry and was not applied.
 */
export function parseScriptReply(reply: unknown): HitResult | null {
  const text = typeof reply === 'string' ? reply : Buffer.isBuffer(reply) ? reply.toString('latin1') : undefined;
  if (text === undefined) throw unexpected(reply);
  const first = text.charCodeAt(0);
  if (first === X) return null;
  const a = text.indexOf(' ');
  const b = text.indexOf(' ', a + 1);
  const c = text.indexOf(' ', b + 1);
  const d = text.indexOf(' ', c + 1);
  if (a !== 1 || d < 0 || (first !== ZERO && first !== ONE)) throw unexpected(reply);
  const now = Number(text.slice(a + 1, b));
  const count = Number(text.slice(b + 1, c));
  const oldest = text.charCodeAt(c + 1) === DASH && d === c + 2 ? null : Number(text.slice(c + 1, d));
  if (!Number.isFinite(now) || !Number.isInteger(count) || (oldest !== null && !Number.isFinite(oldest))) throw unexpected(reply);
  return { allowed: first === ONE, now, count, oldest };
}

/** The server time a reply carries (its last field), in seconds; `NaN` when unreadable. */
export function serverTimeOf(reply: unknown): number {
  if (typeof reply !== 'string') return Number.NaN;
  return Number(reply.slice(reply.lastIndexOf(' ') + 1));
}

const ZERO = 48;
const ONE = 49;
const X = 120;
const DASH = 45;

function unexpected(reply: unknown): Error {
  return new Error(`unexpected reply from the throttle script: ${JSON.stringify(reply)}`);
}

/** The same script by its text: EVAL also loads it for the next EVALSHA. */
export function asEval(command: string[]): string[] {
  const [, sha, ...args] = command;
  return ['EVAL', sha === GCRA_SHA ? GCRA_SCRIPT : SLIDING_LOG_SCRIPT, ...args];
}

export function withExpiry(command: string[], expiry: string): string[] {
  const copy = command.slice();
  copy[copy.length - 1] = expiry;
  return copy;
}

/** `x <server>`: the script refused a hit that reached it after its expiry. */
export function isRefused(reply: unknown): boolean {
  return typeof reply === 'string' && reply.charCodeAt(0) === 120;
}

export function isNoScript(reply: unknown): boolean {
  return reply instanceof Error && reply.message.startsWith('NOSCRIPT');
}
