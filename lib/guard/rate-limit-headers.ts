import type { ExecutionContext } from '@nestjs/common';
import type { ThrottleTarget } from '../contexts';
import type { RateLimitHeaders } from '../module/options';
import type { RateDecision } from '../throttles/simple-rate.throttle';

/**
 * Rate-limit response headers from the decisions a request already got, so
 * they cost no cache call (docs/headers.md).
 *
 * `'ietf'`, draft-ietf-httpapi-ratelimit-headers-11: `RateLimit-Policy`
 * lists one quota policy per throttle of the route, named by its scope (a
 * structured-field String), with the quota `q` and the window `w` in whole
 * seconds; `RateLimit` carries the one service limit closest to being
 * exhausted: remaining quota `r` and effective window `t`, the seconds
 * within which no more than `r` requests will be admitted (when one more
 * becomes free). `'legacy'`: `X-RateLimit-Limit`, `-Remaining` and `-Reset`
 * (seconds) of that same policy, as `@nestjs/throttler` sends them.
 *
 * The sliding log and GCRA report their state in the same shape (see
 * `lib/stores/throttle-store.ts`), so `r = limit - count` and
 * `t = duration - (now - oldest)` hold for both. On a denied request `t`
 * is computed exactly as DRF's wait, so it never exceeds `Retry-After`.
 */
export function rateLimitHeaders(mode: Exclude<RateLimitHeaders, false>, decisions: readonly RateDecision[]): Record<string, string> {
  if (decisions.length === 0) return {};
  let closest = 0;
  const limits: ServiceLimit[] = [];
  for (let i = 0; i < decisions.length; i++) {
    const limit = serviceLimit(decisions[i]);
    limits.push(limit);
    const best = limits[closest];
    if (limit.remaining < best.remaining || (limit.remaining === best.remaining && (limit.reset ?? 0) > (best.reset ?? 0))) closest = i;
  }
  const chosen = limits[closest];
  const decision = decisions[closest];
  if (mode === 'legacy') {
    const headers: Record<string, string> = {
      'X-RateLimit-Limit': String(decision.numRequests),
      'X-RateLimit-Remaining': String(chosen.remaining),
    };
    if (chosen.reset !== undefined) headers['X-RateLimit-Reset'] = String(chosen.reset);
    return headers;
  }
  const names = policyNames(decisions);
  const policies = decisions.map((d, i) => `${names[i]};q=${d.numRequests};w=${windowSeconds(d.duration)}`);
  const reset = chosen.reset === undefined ? '' : `;t=${chosen.reset}`;
  return { 'RateLimit-Policy': policies.join(', '), RateLimit: `${names[closest]};r=${chosen.remaining}${reset}` };
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
  // The same expression as DRF's wait (lib/throttles/wait.ts), so that `t` and `Retry-After` round alike.
  const left = decision.oldest === null ? decision.duration : decision.duration - (decision.now - decision.oldest);
  return { remaining, reset: Math.max(0, Math.ceil(left)) };
}

/** `w` must be a positive whole number of seconds. */
function windowSeconds(duration: number): number {
  return Math.max(1, Math.round(duration));
}

/**
 * Each throttle's scope as a structured-field String (`"default"` with no
 * scope); a name already used on the route gets `-2`, `-3`... so that every
 * policy of a response has its own name and the same one on every response.
 */
function policyNames(decisions: readonly RateDecision[]): string[] {
  const seen = new Map<string, number>();
  return decisions.map((decision) => {
    const base = decision.scope || 'default';
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return sfString(n === 1 ? base : `${base}-${n}`);
  });
}

/**
 * RFC 9651 sf-string: printable ASCII, `"` and `\\` escaped. Anything else,
 * and `%` itself, is written as `%XX` per UTF-8 byte, so two different scope
 * names never become one policy name.
 */
function sfString(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (code >= 0x20 && code <= 0x7e && char !== '%') out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `${out}"`;
}

/** Rate-limit headers on the response, where the transport has one. */
export function setHeaders(context: ExecutionContext, target: ThrottleTarget | undefined, headers: Record<string, string>): void {
  if (target !== undefined) {
    target.setHeaders?.(headers);
    return;
  }
  const response = context.getArgByIndex(1) as { setHeader?(n: string, v: string): unknown; header?(n: string, v: string): unknown } | undefined;
  if (response === undefined || response === null) return;
  for (const name in headers) {
    if (typeof response.header === 'function') response.header(name, headers[name]);
    else response.setHeader?.(name, headers[name]);
  }
}
