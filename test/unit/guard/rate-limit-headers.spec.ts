import { exhaustedReset, headerLabels, headerName, rateLimitHeaders } from '../../../lib/guard/rate-limit-headers';
import type { RateDecision } from 'restflow-throttle';

/** A decision as a store would return it, at now = 100. */
function decision(part: Partial<RateDecision>): RateDecision {
  return {
    allowed: true,
    now: 100,
    count: 1,
    oldest: 100,
    numRequests: 5,
    duration: 60,
    scope: 'user',
    key: 'k',
    ...part,
  };
}

describe('rateLimitHeaders', () => {
  it('names policies as structured-field Strings: quotes and backslashes escaped, the rest percent-encoded (UTF-8)', () => {
    const h = rateLimitHeaders('ietf', [decision({ scope: 'a"b\\c' }), decision({ scope: 'café\n' })]);
    expect(h['RateLimit-Policy']).toBe('"a\\"b\\\\c";q=5;w=60, "caf%C3%A9%0A";q=5;w=60');
  });

  it('never gives two different scope names one policy name (non-ASCII names, and % itself)', () => {
    const names = ['café', 'cafè', 'caf??', 'caf%C3%A9', 'данные', '数据'];
    const h = rateLimitHeaders(
      'ietf',
      names.map((scope) => decision({ scope })),
    );
    const policies = h['RateLimit-Policy'].split(', ').map((p) => p.split(';')[0]);
    expect(new Set(policies).size).toBe(names.length);
    expect(policies.every((p) => /^"[\x20-\x7e]*"$/.test(p))).toBe(true);
  });

  it('gives every policy of a route its own name, "default" when a throttle has no scope', () => {
    const h = rateLimitHeaders('ietf', [
      decision({ scope: undefined }),
      decision({ scope: 'user' }),
      decision({ scope: 'user', count: 4 }),
    ]);
    expect(h['RateLimit-Policy']).toBe('"default";q=5;w=60, "user";q=5;w=60, "user-2";q=5;w=60');
    expect(h.RateLimit).toBe('"user-2";r=1;t=60');
  });

  it('labels: a name taken by an earlier policy gets the next free -n; legacy suffixes ignore case and are tokens', () => {
    const labels = headerLabels(['user', 'user', 'user-2', 'User', 'a b%', 'été']);
    expect(labels.map((l) => l.policy)).toEqual([
      '"user"',
      '"user-2"',
      '"user-2-2"',
      '"User"',
      '"a b%25"',
      '"%C3%A9t%C3%A9"',
    ]);
    expect(labels.map((l) => l.suffix)).toEqual([
      '-user',
      '-user-2',
      '-user-2-2',
      '-User-3',
      '-a%20b%25',
      '-%C3%A9t%C3%A9',
    ]);
    for (const { suffix } of labels) expect(`X-RateLimit-Limit${suffix}`).toMatch(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/);
    expect(headerLabels(['only'])).toEqual([{ policy: '"only"', suffix: undefined }]);
  });

  it("a throttle's name: its `name` when a non-empty string, else its scope, else default", () => {
    expect(headerName({ scope: 'anon', name: 'short' })).toBe('short');
    expect(headerName({ scope: 'anon', name: 5 })).toBe('anon');
    expect(headerName({ scope: '', name: '' })).toBe('default');
  });

  it("'legacy' with labels: the closest limit unsuffixed, each policy suffixed, Retry-After-<name> for a refusal", () => {
    const refused = decision({ allowed: false, count: 2, numRequests: 2, duration: 10, oldest: 92 });
    const h = rateLimitHeaders('legacy', [refused, decision({ count: 1 })], headerLabels(['short', 'long']));
    expect(h).toEqual({
      'X-RateLimit-Limit': '2',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': '2',
      'X-RateLimit-Limit-short': '2',
      'X-RateLimit-Remaining-short': '0',
      'X-RateLimit-Reset-short': '2',
      'Retry-After-short': '2',
      'X-RateLimit-Limit-long': '5',
      'X-RateLimit-Remaining-long': '4',
      'X-RateLimit-Reset-long': '60',
    });
  });

  it('a denied request with no history (a 0/min rate) waits the whole window, as Retry-After says', () => {
    const h = rateLimitHeaders('ietf', [decision({ allowed: false, count: 0, oldest: null, numRequests: 0 })]);
    expect(h).toEqual({ 'RateLimit-Policy': '"user";q=0;w=60', RateLimit: '"user";r=0;t=60' });
  });

  it('a request admitted without the cache (a fault) has no known effective window: t and X-RateLimit-Reset are left out', () => {
    const admitted = decision({ count: 0, oldest: null });
    expect(rateLimitHeaders('ietf', [admitted]).RateLimit).toBe('"user";r=5');
    expect(rateLimitHeaders('legacy', [admitted])).toEqual({ 'X-RateLimit-Limit': '5', 'X-RateLimit-Remaining': '5' });
  });

  it('rounds t up, and w to a positive whole number of seconds', () => {
    const h = rateLimitHeaders('ietf', [decision({ duration: 0.4, oldest: 99.9, count: 5 })]);
    expect(h).toEqual({ 'RateLimit-Policy': '"user";q=5;w=1', RateLimit: '"user";r=0;t=1' });
  });

  it('exhaustedReset(): the latest reset among the policies with nothing left, null when none is exhausted', () => {
    const refused = decision({ allowed: false, count: 2, numRequests: 2, duration: 10, oldest: 92 });
    const lastSlot = decision({ allowed: true, count: 3, numRequests: 3, duration: 60, oldest: 98 });
    expect(exhaustedReset([refused, lastSlot])).toBe(58);
    expect(exhaustedReset([decision({ count: 1 })])).toBeNull();
  });
});
