/**
 * Rates within what every store can hold (issue 24, item 7), on the memory
 * and get/set stores: a rate at exactly MAX_RATE_DURATION_SECONDS, the
 * longest period parseRate() accepts (and a block as long), is decided
 * exactly by both algorithms, every wait is finite and exact, every expiry
 * the store keeps or TTL it writes is finite, positive and covers the state,
 * and no value overflows to Infinity or NaN. The Redis store's test at this
 * bound: test/redis/rate-bounds.e2e-spec.ts.
 */
import { createCache } from 'cache-manager-v6';
import { caching } from 'cache-manager';
import { computeWait, MemoryThrottleStore, type HitResult, type ThrottleCache } from 'restflow-throttle';
import { CacheFaults } from '../../../lib/stores/cache-faults';
import { CacheManagerStore } from '../../../lib/stores/get-set/cache-manager.store';
import { MAX_RATE_DURATION_SECONDS } from '../../../lib/throttles/rate';

const D = MAX_RATE_DURATION_SECONDS;
/** A Unix time, as a wall clock gives (the stores' default clock is monotonic, much smaller). */
const T0 = 1_700_000_000;
const ALGORITHMS = ['sliding-log', 'gcra'] as const;
type Algorithm = (typeof ALGORITHMS)[number];

/** One hit on key `k` at `now`, per D, with `limit` and `blockSec`: a store under test. */
type Hit = (limit: number, now: number, blockSec?: number) => HitResult | Promise<HitResult>;

/** Every number of a result finite (`oldest` may be null), and the wait DRF's formula makes of it. */
function checked(result: HitResult, limit: number): { allowed: boolean; wait: number | null } {
  expect([result.now, result.count, result.oldest ?? 0].every(Number.isFinite)).toBe(true);
  return {
    allowed: result.allowed,
    wait: computeWait({ now: result.now, oldest: result.oldest, count: result.count, numRequests: limit, duration: D }),
  };
}

/**
 * Two per D: two hits admitted, the third refused with the exact wait (log:
 * until the first stamp leaves the window; GCRA: one interval, D/2, after
 * the first admission), refused a second before it ends and admitted at it.
 */
async function twoPerLongestPeriod(hit: Hit, algorithm: Algorithm): Promise<void> {
  expect(checked(await hit(2, T0), 2).allowed).toBe(true);
  expect(checked(await hit(2, T0 + 1), 2).allowed).toBe(true);
  const refused = checked(await hit(2, T0 + 2), 2);
  const wait = algorithm === 'gcra' ? D / 2 - 2 : D - 2;
  expect(refused).toEqual({ allowed: false, wait });
  expect(checked(await hit(2, T0 + 2 + wait - 1), 2).allowed).toBe(false);
  expect(checked(await hit(2, T0 + 2 + wait), 2).allowed).toBe(true);
}

/** One per D, and a refusal blocking for D: the wait is D, the block holds to its last second and ends. */
async function blockAsLongAsThePeriod(hit: Hit): Promise<void> {
  expect(checked(await hit(1, T0, D), 1).allowed).toBe(true);
  expect(checked(await hit(1, T0 + 1, D), 1)).toEqual({ allowed: false, wait: D });
  expect(checked(await hit(1, T0 + D, D), 1)).toEqual({ allowed: false, wait: 1 });
  expect(checked(await hit(1, T0 + 1 + D, D), 1).allowed).toBe(true);
}

describe.each(ALGORITHMS)('MemoryThrottleStore at the longest period (%s)', (algorithm) => {
  let store: MemoryThrottleStore;
  const hit: Hit = (limit, now, blockSec = 0) => store.hit('k', limit, D, now, algorithm, 'scope', 1, blockSec);
  /** Enough hits on another key of the scope at `now` for the store to sweep it in turn (every 16th hit). */
  const sweepAt = (now: number) => {
    for (let i = 0; i < 16; i++) store.hit('tick', 1_000_000, 1, now, 'sliding-log', 'scope');
  };
  beforeEach(() => {
    store = new MemoryThrottleStore();
  });

  it('decides two per period exactly, with finite, exact waits', async () => {
    await twoPerLongestPeriod(hit, algorithm);
  });

  it('keeps a key for the period after its last admission, then sweeps it: its expiry is finite', () => {
    expect(store.hit('k', 1, D, T0, algorithm, 'scope').allowed).toBe(true);
    sweepAt(T0 + D - 1);
    expect(store.size).toBe(2); // 'k' and 'tick'
    expect(store.hit('k', 1, D, T0 + D - 1, algorithm, 'scope').allowed).toBe(false);
    sweepAt(T0 + D + 1);
    expect(store.size).toBe(1);
  });

  it('a block as long as the period: the exact wait, held to its end, and the key swept after it', async () => {
    await blockAsLongAsThePeriod(hit);
    store = new MemoryThrottleStore();
    store.hit('k', 1, D, T0, algorithm, 'scope', 1, D);
    store.hit('k', 1, D, T0 + 1, algorithm, 'scope', 1, D);
    sweepAt(T0 + D + 0.5); // the count has expired, the block has not
    expect(store.size).toBe(2); // 'k' and 'tick'
    sweepAt(T0 + D + 2);
    expect(store.size).toBe(1);
  });
});

/** A cache behind get/set that keeps what it was given, with every TTL written. */
function recordingCache(): ThrottleCache & { values: Map<string, unknown>; ttls: (number | undefined)[] } {
  const values = new Map<string, unknown>();
  const ttls: (number | undefined)[] = [];
  return {
    values,
    ttls,
    get: async <T>(key: string) => structuredClone(values.get(key)) as T | undefined,
    set: async (key: string, value: unknown, ttl?: number) => {
      ttls.push(ttl);
      values.set(key, structuredClone(value));
    },
  };
}

const storeOn = (cache: ThrottleCache) =>
  new CacheManagerStore(cache, new CacheFaults({ name: 'cache', policy: 'deny', timeoutMs: 5000 }));

/** Every number in a stored value is finite: it survives JSON (Infinity and NaN would come back as null). */
function expectFiniteValue(value: unknown): void {
  expect(JSON.parse(JSON.stringify(value))).toEqual(value);
}

/** A TTL a cache can hold: a positive safe integer of ms, at least the period, at most twice it. */
function expectHoldableTtl(ttl: number | undefined): void {
  expect(Number.isSafeInteger(ttl)).toBe(true);
  expect(ttl).toBeGreaterThanOrEqual(D * 1000);
  expect(ttl).toBeLessThanOrEqual(2 * D * 1000);
}

describe.each(ALGORITHMS)('CacheManagerStore at the longest period (%s)', (algorithm) => {
  let cache: ReturnType<typeof recordingCache>;
  let store: CacheManagerStore;
  const hit: Hit = (limit, now, blockSec = 0) => store.hit('k', limit, D, now, algorithm, 'scope', 1, blockSec);
  beforeEach(() => {
    cache = recordingCache();
    store = storeOn(cache);
  });

  it('decides two per period exactly, writing finite values with TTLs a cache can hold', async () => {
    await twoPerLongestPeriod(hit, algorithm);
    expect(cache.ttls).toHaveLength(3); // the three admissions; refusals write nothing
    for (const ttl of cache.ttls) expectHoldableTtl(ttl);
    expectFiniteValue(cache.values.get('k'));
  });

  it('a block as long as the period: the exact wait, and the TTL covers the block', async () => {
    await blockAsLongAsThePeriod(hit);
    // The admission, the block (to T0 + 1 + D, written at T0 + 1: D from then), the admission after it.
    expect(cache.ttls).toHaveLength(3);
    for (const ttl of cache.ttls) expectHoldableTtl(ttl);
    expect(cache.ttls[1]).toBe(D * 1000);
    expectFiniteValue(cache.values.get('k'));
  });

  it('an admin block as long as the period writes a TTL that covers it', async () => {
    await store.block('k', D, { limit: 1, durationSec: D, algorithm }, T0);
    expect(cache.ttls).toEqual([D * 1000]);
    expectFiniteValue(cache.values.get('k'));
    expect(checked(await hit(1, T0 + D - 1), 1)).toEqual({ allowed: false, wait: 1 });
    expect(checked(await hit(1, T0 + D), 1).allowed).toBe(true);
  });
});

describe.each<[string, () => Promise<ThrottleCache>]>([
  ['cache-manager 5 (memory)', () => caching('memory')],
  ['cache-manager 6 (Keyv in memory)', async () => createCache()],
])('a real get/set cache at the longest period: %s', (_name, make) => {
  it.each(ALGORITHMS)('keeps the key it was given with that TTL (%s)', async (algorithm) => {
    const store = storeOn(await make());
    const hit: Hit = (limit, now) => store.hit('k', limit, D, now, algorithm, 'scope');
    // The TTL of D's ms did not expire the key at once: the second hit counts the first.
    await twoPerLongestPeriod(hit, algorithm);
  });
});
