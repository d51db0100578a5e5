// Rate-limit response headers (IETF or legacy X-RateLimit-*) from the decisions a request already got.
import type { ExecutionContext } from '@nestjs/common';
import type { ThrottleTarget } from '../contexts';
import type { RateLimitHeaders } from '../module/options';
import { computeWait, type RateDecision } from '../throttles/rate';

/**
 * How one rate throttle of a route is named in the headers, fixed at startup
 * so that every response of the route names it alike.
 */
export interface HeaderLabel {
  /** `'ietf'`: the policy name, a structured-field String (`"burst"`), unique on the route. */
  readonly policy: string;
  /**
   * `'legacy'`: `-` and the name as an HTTP token (`-burst`), unique on the route whatever the case; it
   * follows `X-RateLimit-Limit` and the others. `undefined` when the route has one rate throttle: its
   * headers are then the unsuffixed ones only, as `@nestjs/throttler` sends them for its `default`.
   */
  readonly suffix: string | undefined;
}

/**
 * Rate-limit response headers from the decisions a request already got, so
 * they cost no cache call (docs/headers.md).
 *
 * `'ietf'`, draft-ietf-httpapi-ratelimit-headers-11: `RateLimit-Policy`
 * lists one quota policy per throttle of the route, named by its label, with
 * the quota `q` and the window `w` in whole seconds; `RateLimit` carries the
 * one service limit closest to being exhausted: remaining quota `r` and
 * effective window `t`, the seconds within which no more than `r` requests
 * will be admitted (when one more becomes free). `'legacy'`:
 * `X-RateLimit-Limit`, `-Remaining` and `-Reset` (seconds) of that same
 * policy; on a route with several throttles, also each throttle's own, named
 * (`X-RateLimit-Remaining-burst`), and `Retry-After-<name>` for each that
 * refused, as `@nestjs/throttler` sends them for its named throttlers.
 *
 * The sliding log and GCRA report their state in the same shape (see
 * `lib/stores/throttle-store.ts`), so `r = limit - count` and
 * `t = duration - (now - oldest)` hold for both. On a denied request `t`
 * is computed exactly as DRF's wait, so it never exceeds `Retry-After`.
 *
 * @param labels each decision's label; default: named by scope (`"default"` without one).
 */
export function rateLimitHeaders(
  mode: Exclude<RateLimitHeaders, false>,
  decisions: readonly RateDecision[],
  labels: readonly HeaderLabel[] = headerLabels(decisions.map((d) => d.scope || 'default')),
): Record<string, string> {
  if (decisions.length === 0) return {};
  let closest = 0;
  const limits: ServiceLimit[] = [];
  for (let i = 0; i < decisions.length; i++) {
    const limit = serviceLimit(decisions[i]);
    limits.push(limit);
    const best = limits[closest];
    const later = limit.remaining === best.remaining && (limit.reset ?? 0) > (best.reset ?? 0);
    if (limit.remaining < best.remaining || later) closest = i;
  }
  if (mode === 'legacy') {
    const headers = legacyHeaders(decisions[closest], limits[closest], '');
    for (let i = 0; i < decisions.length; i++) {
      const suffix = labels[i].suffix;
      if (suffix !== undefined) Object.assign(headers, legacyHeaders(decisions[i], limits[i], suffix, true));
    }
    return headers;
  }
  const policies = decisions.map((d, i) => `${labels[i].policy};q=${d.numRequests};w=${windowSeconds(d.duration)}`);
  const chosen = limits[closest];
  const reset = chosen.reset === undefined ? '' : `;t=${chosen.reset}`;
  const limit = `${labels[closest].policy};r=${chosen.remaining}${reset}`;
  return { 'RateLimit-Policy': policies.join(', '), RateLimit: limit };
}

/** One policy's `X-RateLimit-*`, and with `retryAfter` its own `Retry-After` when it refused. */
function legacyHeaders(
  decision: RateDecision,
  limit: ServiceLimit,
  suffix: string,
  retryAfter = false,
): Record<string, string> {
  const headers: Record<string, string> = {
    [`X-RateLimit-Limit${suffix}`]: String(decision.numRequests),
    [`X-RateLimit-Remaining${suffix}`]: String(limit.remaining),
  };
  if (limit.reset !== undefined) headers[`X-RateLimit-Reset${suffix}`] = String(limit.reset);
  if (retryAfter && !decision.allowed) {
    const wait = computeWait(decision);
    if (wait !== null) headers[`Retry-After${suffix}`] = String(Math.ceil(wait));
  }
  return headers;
}

/**
 * At startup: the labels of a route's rate throttles, from their names (a
 * throttle's `name`, else its scope, else `default`). A name used twice on
 * the route gets `-2`, `-3`... so that each policy has its own; legacy
 * suffixes are compared without case, as header names are.
 */
export function headerLabels(names: readonly string[]): HeaderLabel[] {
  const policies = unique(names, (name) => name);
  const suffixes = unique(names.map(headerToken), (token) => token.toLowerCase());
  const one = names.length === 1;
  return names.map((_, i) => ({ policy: sfString(policies[i]), suffix: one ? undefined : `-${suffixes[i]}` }));
}

/** The name a throttle goes by in the headers: its `name` when it sets one (a string), else its scope. */
export function headerName(throttle: { readonly scope?: string; readonly name?: unknown }): string {
  const { name, scope } = throttle;
  return typeof name === 'string' && name !== '' ? name : scope || 'default';
}

/** Each name, or the name and `-2`, `-3`... when already taken (`same` says which names are one). */
function unique(names: readonly string[], same: (name: string) => string): string[] {
  const taken = new Set<string>();
  return names.map((base) => {
    let name = base;
    for (let n = 2; taken.has(same(name)); n++) name = `${base}-${n}`;
    taken.add(same(name));
    return name;
  });
}

/**
 * An HTTP token (RFC 9110 `tchar`s) for a header name: other characters, and
 * `%` itself, are written as `%XX` per UTF-8 byte, so two names stay two.
 */
function headerToken(name: string): string {
  return /^[\w!#$&'*+.^`|~-]+$/.test(name) ? name : percentEncode(name, (char) => /^[\w!#$&'*+.^`|~-]$/.test(char));
}

/** `text` with each character that `keep` refuses written as `%XX` per UTF-8 byte. */
function percentEncode(text: string, keep: (char: string) => boolean): string {
  let out = '';
  for (const char of text) {
    if (keep(char)) out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The latest reset among the policies with nothing left (`r=0`), in whole
 * seconds: a refused client told to retry earlier would meet another 429 from
 * a policy the same response described. `null` when no policy is exhausted.
 */
export function exhaustedReset(decisions: readonly RateDecision[]): number | null {
  let latest: number | null = null;
  for (const decision of decisions) {
    const { remaining, reset } = serviceLimit(decision);
    if (remaining === 0 && reset !== undefined && (latest === null || reset > latest)) latest = reset;
  }
  return latest;
}

/** One throttle's current service limit. */
interface ServiceLimit {
  /** Requests still admitted in the window (`r`). */
  readonly remaining: number;
  /** Whole seconds until one more is admitted (`t`); unknown when the decision was made without the cache. */
  readonly reset: number | undefined;
}

function serviceLimit(decision: RateDecision): ServiceLimit {
  const remaining = Math.max(0, decision.numRequests - decision.count);
  // An admitted request always leaves itself in the window; an empty one means the cache was not asked (a fault).
  if (decision.oldest === null && decision.allowed) return { remaining, reset: undefined };
  // A request that costs more than the limit is never admitted: no reset would be true for it.
  if (decision.cost !== undefined && decision.cost > decision.numRequests) return { remaining, reset: undefined };
  // The same expression as DRF's wait (lib/throttles/wait.ts), so that `t` and `Retry-After` round alike.
  const left = decision.oldest === null ? decision.duration : decision.duration - (decision.now - decision.oldest);
  return { remaining, reset: Math.max(0, Math.ceil(left)) };
}

/** `w` must be a positive whole number of seconds. */
function windowSeconds(duration: number): number {
  return Math.max(1, Math.round(duration));
}

/**
 * RFC 9651 sf-string: printable ASCII, `"` and `\\` escaped. Anything else,
 * and `%` itself, is written as `%XX` per UTF-8 byte, so two different scope
 * names never become one policy name.
 */
function sfString(text: string): string {
  const printable = percentEncode(text, (char) => char >= '\x20' && char <= '\x7e' && char !== '%');
  return `"${printable.replace(/["\\]/g, '\\$&')}"`;
}

/** Rate-limit headers on the response, where the transport has one. */
export function setHeaders(
  context: ExecutionContext,
  target: ThrottleTarget | undefined,
  headers: Record<string, string>,
): void {
  if (target !== undefined) {
    target.setHeaders?.(headers);
    return;
  }
  const response = context.getArgByIndex(1) as
    | { setHeader?(n: string, v: string): unknown; header?(n: string, v: string): unknown }
    | undefined;
  if (response === undefined || response === null) return;
  for (const name in headers) {
    if (typeof response.header === 'function') response.header(name, headers[name]);
    else response.setHeader?.(name, headers[name]);
  }
}
