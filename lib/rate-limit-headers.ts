import type { RateLimitHeaders } from './restflow-throttle.options';
import type { RateDecision } from './throttles/simple-rate.throttle';

/**
 * Rate-limit response headers from the decisions a request already got, so
 * they cost no cache call. `'ietf'`: draft-ietf-httpapi-ratelimit-headers
 * `RateLimit-Policy` (one item per throttle, named by its scope, with quota
 * `q` and window `w`) and `RateLimit` (the item closest to its limit, with
 * remaining `r` and seconds `t` until one more request is free). `'legacy'`:
 * `X-RateLimit-Limit/-Remaining/-Reset` of that same item.
 */
export function rateLimitHeaders(mode: Exclude<RateLimitHeaders, false>, decisions: readonly RateDecision[]): Record<string, string> {
  let closest: RateDecision | undefined;
  let closestRemaining = Infinity;
  let closestReset = 0;
  const policies: string[] = [];
  for (const decision of decisions) {
    const remaining = Math.max(0, decision.numRequests - decision.count);
    const reset = resetSeconds(decision);
    policies.push(`${policyName(decision)};q=${decision.numRequests};w=${Math.round(decision.duration)}`);
    if (remaining < closestRemaining || (remaining === closestRemaining && reset > closestReset)) {
      closest = decision;
      closestRemaining = remaining;
      closestReset = reset;
    }
  }
  if (closest === undefined) return {};
  if (mode === 'legacy') {
    return {
      'X-RateLimit-Limit': String(closest.numRequests),
      'X-RateLimit-Remaining': String(closestRemaining),
      'X-RateLimit-Reset': String(closestReset),
    };
  }
  return {
    'RateLimit-Policy': policies.join(', '),
    RateLimit: `${policyName(closest)};r=${closestRemaining};t=${closestReset}`,
  };
}

/** Whole seconds until the oldest counted request leaves the window (one more is free then). */
function resetSeconds(decision: RateDecision): number {
  if (decision.oldest === null) return 0;
  return Math.max(0, Math.ceil(decision.oldest + decision.duration - decision.now));
}

/** A structured-field string naming the throttle's scope. */
function policyName(decision: RateDecision): string {
  return JSON.stringify(decision.scope ?? 'default');
}
