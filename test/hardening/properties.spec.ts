/**
 * Property-based tests: the rate parser, client identity and the sliding log
 * against plain reference models, over inputs a hostile client could send.
 */
import fc from 'fast-check';
import { ImproperlyConfiguredError, MemoryThrottleStore, computeWait, parseRate, type ThrottleRequest } from 'restflow-throttle';
import { CacheManagerStore } from '../../lib/stores/cache-manager.store';
import { clientIdent } from '../../lib/throttles/client-ident';
import { createCache } from 'cache-manager';

const PERIODS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

describe('parseRate, any string', () => {
  it('parses to the documented value or throws ImproperlyConfiguredError naming the rate', () => {
    const rateLike = fc.oneof(
      fc.string(),
      fc.tuple(fc.oneof(fc.nat(), fc.integer(), fc.double()), fc.constantFrom('', '1', '5', '0', '-2', '1.5'), fc.constantFrom('s', 'sec', 'm', 'min', 'h', 'hour', 'd', 'day', 'y', '', 'S', 'M x'))
        .map(([n, k, p]) => `${n}/${k}${p}`),
    );
    fc.assert(
      fc.property(rateLike, (rate) => {
        let parsed: ReturnType<typeof parseRate>;
        try {
          parsed = parseRate(rate, 'scope');
        } catch (error) {
          expect(error).toBeInstanceOf(ImproperlyConfiguredError);
          expect((error as Error).message).toContain(`'${rate}'`);
          return;
        }
        const match = /^\s*(\d+)\/(\d*)([smhd])[a-z]*\s*$/i.exec(rate);
        expect(match).not.toBeNull();
        const [, n, k, p] = match!;
        expect(parsed).toEqual([Number(n), (k === '' ? 1 : Number(k)) * PERIODS[p.toLowerCase()]]);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('client identity, any X-Forwarded-For', () => {
  const address = fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4().map((ip) => `::ffff:${ip}`));
  const xff = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.array(fc.oneof(address, fc.constantFrom('', ' ', '  \t')), { maxLength: 12 }).map((a) => a.join(',')),
    fc.nat({ max: 8192 }).map((n) => ','.repeat(n)),
    fc.nat({ max: 8192 }).map((n) => 'x'.repeat(n)),
    fc.string({ unit: 'binary', maxLength: 100 }),
  );

  it('gives a non-empty bounded ident, DRF\'s entry when it is one, never a throw', () => {
    fc.assert(
      fc.property(xff, fc.option(fc.nat({ max: 10 }), { nil: undefined }), address, (header, numProxies, remote) => {
        const request: ThrottleRequest = { headers: { 'x-forwarded-for': header }, socket: { remoteAddress: remote }, ip: remote };
        const ident = clientIdent(request, numProxies);
        expect(ident.length).toBeGreaterThan(0);
        expect(ident.length).toBeLessThanOrEqual(64);
        expect(ident).toMatch(/^[\x21-\x7e]+$/);
        const plainRemote = remote.startsWith('::ffff:') && remote.includes('.') ? remote.slice(7) : remote;
        if (numProxies === undefined || numProxies === 0) {
          expect(ident).toBe(plainRemote);
          return;
        }
        // DRF's rule, as a plain reference.
        const addrs = header.split(',');
        const entry = addrs[addrs.length - Math.min(numProxies, addrs.length)].trim();
        if (entry === '') expect(ident).toBe(plainRemote);
        else if (entry.length <= 64 && /^[\x21-\x7e]+$/.test(entry)) {
          expect(ident).toBe(entry.startsWith('::ffff:') && entry.includes('.') ? entry.slice(7) : entry);
        } else expect(ident).toMatch(/^h:[A-Za-z0-9_-]{43}$/);
      }),
      { numRuns: 3000 },
    );
  });

  it('falls back to a non-empty ident with no address at all', () => {
    expect(clientIdent({ headers: {} }, undefined)).toBe('unknown');
    expect(clientIdent({ headers: { 'x-forwarded-for': ' , ' } }, 1)).toBe('unknown');
  });
});

/** DRF's SimpleRateThrottle, literally: a newest-first list, popped from the end. */
class ReferenceLog {
  private history: number[] = [];
  constructor(private readonly limit: number, private readonly duration: number) {}
  hit(now: number): { allowed: boolean; wait: number | null } {
    while (this.history.length > 0 && this.history[this.history.length - 1] <= now - this.duration) this.history.pop();
    if (this.history.length >= this.limit) {
      const remaining = this.history.length > 0 ? this.duration - (now - this.history[this.history.length - 1]) : this.duration;
      const available = this.limit - this.history.length + 1;
      return { allowed: false, wait: available <= 0 ? null : remaining / available };
    }
    this.history.unshift(now);
    return { allowed: true, wait: null };
  }
}

const timeline = fc.record({
  limit: fc.nat({ max: 6 }),
  duration: fc.integer({ min: 1, max: 20 }),
  steps: fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 8, noNaN: true })), { minLength: 1, maxLength: 60 }),
});

describe('the sliding log against the reference model', () => {
  it('MemoryThrottleStore: same decisions and same wait() on any timeline', () => {
    fc.assert(
      fc.property(timeline, ({ limit, duration, steps }) => {
        const store = new MemoryThrottleStore();
        const reference = new ReferenceLog(limit, duration);
        let now = 1000;
        for (const step of steps) {
          now += step;
          const expected = reference.hit(now);
          const actual = store.hit('k', limit, duration, now);
          expect(actual.allowed).toBe(expected.allowed);
          if (!actual.allowed) expect(computeWait({ ...actual, numRequests: limit, duration })).toBe(expected.wait);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('CacheManagerStore (get/set): same decisions and same wait() on any timeline', async () => {
    await fc.assert(
      fc.asyncProperty(timeline, async ({ limit, duration, steps }) => {
        const store = new CacheManagerStore(createCache(new MemoryThrottleStore()));
        const reference = new ReferenceLog(limit, duration);
        let now = 1000;
        for (const step of steps) {
          now += step;
          const expected = reference.hit(now);
          const actual = await store.hit('k', limit, duration, now);
          expect(actual.allowed).toBe(expected.allowed);
          if (!actual.allowed) expect(computeWait({ ...actual, numRequests: limit, duration })).toBe(expected.wait);
        }
      }),
      { numRuns: 200 },
    );
  });
});
