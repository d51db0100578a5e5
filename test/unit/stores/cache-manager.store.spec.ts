/** The get/set store: every hit queued on a key decided in one get and one set, exact, within the deadline; and which store a cache gets. */
import { Logger } from '@nestjs/common';
import fc from 'fast-check';
import { CacheFaults } from '../../../lib/stores/cache-faults';
import { CacheManagerStore } from '../../../lib/stores/get-set/cache-manager.store';
import { RedisThrottleStore } from '../../../lib/stores/redis/redis.store';
import { storeForCache } from '../../../lib/stores/store-for-cache';
import {
  computeWait,
  ImproperlyConfiguredError,
  MemoryThrottleStore,
  type ThrottleCache,
  type ThrottleStore,
} from 'restflow-throttle';
import { GcraModel } from '../../helpers/gcra-model';

class Warnings {
  readonly lines: string[] = [];
  warn(message: unknown): void {
    this.lines.push(String(message));
  }
}

/** A Map behind get/set, each call answered after `delayMs()`, counting its calls. */
function mapCache(
  delayMs: () => number = () => 0,
): ThrottleCache & { values: Map<string, unknown>; calls: { get: number; set: number } } {
  const values = new Map<string, unknown>();
  const calls = { get: 0, set: 0 };
  const later = <T>(value: () => T) => new Promise<T>((resolve) => setTimeout(() => resolve(value()), delayMs()));
  return {
    values,
    calls,
    get: <T>(key: string) => {
      calls.get++;
      return later(() => structuredClone(values.get(key)) as T | undefined);
    },
    set: (key: string, value: unknown) => {
      calls.set++;
      const copy = structuredClone(value);
      return later(() => values.set(key, copy));
    },
  };
}

function storeOn(
  cache: ThrottleCache,
  options: { timeoutMs: number; policy?: 'allow' | 'deny'; clock?: () => number },
) {
  const logger = new Warnings();
  const faults = new CacheFaults({
    name: 'cache',
    policy: options.policy ?? 'allow',
    timeoutMs: options.timeoutMs,
    logger,
    clock: options.clock,
  });
  return { store: new CacheManagerStore(cache, faults), faults, logger };
}

describe('CacheManagerStore', () => {
  it('30 concurrent hits on a slow cache (60 ms calls) cost one get and one set, and stay exact', async () => {
    const cache = mapCache(() => 60);
    const { store, logger } = storeOn(cache, { timeoutMs: 1000 });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => store.hit('k', 10, 60, 1000 + i / 1000)));
    expect(results.map((r) => r.allowed)).toEqual(Array.from({ length: 30 }, (_, i) => i < 10)); // in arrival order
    expect(cache.calls).toEqual({ get: 1, set: 1 });
    expect(cache.values.get('k')).toHaveLength(10);
    expect(logger.lines).toEqual([]);
  });

  it('hits arriving during a round wait for the next one: two rounds, one get and one set each', async () => {
    const cache = mapCache(() => 20);
    const { store } = storeOn(cache, { timeoutMs: 1000 });
    const first = Array.from({ length: 5 }, () => store.hit('k', 8, 60, 1000));
    await new Promise((resolve) => setTimeout(resolve, 30)); // the first round is in its set
    const second = Array.from({ length: 5 }, () => store.hit('k', 8, 60, 1001));
    const allowed = (await Promise.all([...first, ...second])).map((r) => r.allowed);
    expect(allowed).toEqual([true, true, true, true, true, true, true, true, false, false]);
    expect(cache.calls).toEqual({ get: 2, set: 2 });
  });

  it('a round where every hit is denied writes nothing', async () => {
    const cache = mapCache();
    const { store } = storeOn(cache, { timeoutMs: 1000 });
    await store.hit('k', 1, 60, 1000);
    const denied = await Promise.all([store.hit('k', 1, 60, 1001), store.hit('k', 1, 60, 1002)]);
    expect(denied.map((r) => r.allowed)).toEqual([false, false]);
    expect(computeWait({ ...denied[0], numRequests: 1, duration: 60 })).toBe(59);
    expect(cache.calls).toEqual({ get: 2, set: 1 });
  });

  it('a refused first hit writes no key, with either algorithm (a refused request costs nothing)', async () => {
    const cache = mapCache();
    const { store } = storeOn(cache, { timeoutMs: 1000 });
    expect((await store.hit('log', 0, 60, 1000)).allowed).toBe(false);
    expect((await store.hit('gcra', 0, 60, 1000, 'gcra')).allowed).toBe(false);
    expect(cache.calls).toEqual({ get: 2, set: 0 });
    expect(cache.values.size).toBe(0);
  });

  it('120 hits on a busy key: exact, no fail-open, no warning', async () => {
    const cache = mapCache(() => 2);
    const { store, logger } = storeOn(cache, { timeoutMs: 50 });
    const results = await Promise.all(Array.from({ length: 120 }, () => store.hit('k', 30, 60, 1000)));
    expect(results.filter((r) => r.allowed)).toHaveLength(30);
    expect(logger.lines).toEqual([]);
  });

  it('the whole wait counts, queue included: a hit queued behind a slow round gets its answer within its deadline', async () => {
    // Round 1 takes 300 ms (a get of 50, a set of 250); the hit queued during its set waits for it, then its own
    // get would take 600 more, so only the policy can answer it: 400 ms after it arrived (its deadline counts its
    // wait for round 1), not 600 (counted from its own round).
    const delays = [50, 250, 600];
    const cache = mapCache(() => delays.shift() ?? 0);
    const { store, logger } = storeOn(cache, { timeoutMs: 400 });
    const first = store.hit('k', 5, 60, 1000);
    await new Promise((resolve) => setTimeout(resolve, 100)); // round 1 is in its set
    const arrivedAt = performance.now();
    const queued = store.hit('k', 5, 60, 1000);
    const order: string[] = [];
    let answeredAfter = 0;
    await Promise.all([
      first.then(() => order.push('first')),
      queued.then((r) => {
        answeredAfter = performance.now() - arrivedAt;
        order.push(`queued ${r.count}`);
      }),
    ]);
    expect(order).toEqual(['first', 'queued 0']); // answered by the policy (count 0), not by the cache
    expect(answeredAfter).toBeGreaterThanOrEqual(399);
    expect(answeredAfter).toBeLessThan(550);
    expect(logger.lines).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 450)); // the late get, so that no timer outlives the test
  });

  it('a get answered in time, then a busy stretch past the deadline: the set answered soon after decides', async () => {
    const values = new Map<string, unknown>();
    const cache: ThrottleCache = {
      get: <T>(key: string) =>
        new Promise<T | undefined>((resolve) =>
          setTimeout(() => {
            resolve(values.get(key) as T | undefined);
            const until = performance.now() + 300; // busy past the deadline before the set can go out
            while (performance.now() < until);
          }, 10),
        ),
      set: (key: string, value: unknown) =>
        new Promise<void>((resolve) => setTimeout(() => resolve(void values.set(key, value)), 10)),
    };
    const { store, logger } = storeOn(cache, { timeoutMs: 100 });
    expect(await store.hit('k', 5, 60, 1000)).toMatchObject({ allowed: true, count: 1 }); // the cache's, not the policy's
    expect(values.has('k')).toBe(true);
    expect(logger.lines).toEqual([]);
  });

  it('a dead cache: every queued hit is answered by one deadline, one warning, and later hits do not call it', async () => {
    let gets = 0;
    const dead: ThrottleCache = {
      get: () => {
        gets++;
        return new Promise(() => undefined);
      },
      set: () => new Promise(() => undefined),
    };
    const { store, faults, logger } = storeOn(dead, { timeoutMs: 100 });
    const results = await Promise.all(Array.from({ length: 20 }, () => store.hit('k', 1, 60, 1000)));
    expect(results.every((r) => r.allowed)).toBe(true);
    expect(logger.lines).toHaveLength(1);
    expect(faults.isDown).toBe(true);
    const more = await Promise.all(Array.from({ length: 50 }, (_, i) => store.hit(`other${i}`, 1, 60, 1000)));
    expect(more.every((r) => r.allowed)).toBe(true);
    expect(gets).toBe(1);
  });

  it('a cache that lost a call for good: the key is probed again a second later, and counts resume', async () => {
    let ms = 0;
    const working = mapCache();
    let lost = true;
    const cache: ThrottleCache = {
      get: (key) => (lost ? new Promise(() => undefined) : working.get(key)),
      set: (key, value, ttl) => working.set(key, value, ttl),
    };
    const { store, faults, logger } = storeOn(cache, { timeoutMs: 20, clock: () => ms });
    expect(await store.hit('k', 1, 60, 1000)).toMatchObject({ allowed: true, count: 0 }); // answered by the policy
    expect(faults.hangingCalls).toBe(1);
    lost = false;
    expect(await store.hit('k', 1, 60, 1000)).toMatchObject({ allowed: true, count: 0 }); // no probe yet: not called
    expect(working.calls.get).toBe(0);
    ms += 1000;
    expect(await store.hit('k', 1, 60, 1000)).toMatchObject({ allowed: true, count: 1 }); // the probe, decided by the cache
    // Answered in time: the lost call is forgotten, and every hit is decided by the cache again.
    expect(faults.hangingCalls).toBe(0);
    const next = await Promise.all([store.hit('k', 1, 60, 1000), store.hit('other', 1, 60, 1000)]);
    expect(next).toMatchObject([
      { allowed: false, count: 1 },
      { allowed: true, count: 1 },
    ]);
    expect(logger.lines.map((line) => /unavailable|available again/.exec(line)?.[0])).toEqual([
      'unavailable',
      'available again',
    ]);
  });

  it("a dead cache with 'deny': 503 for every queued hit", async () => {
    const dead: ThrottleCache = { get: () => new Promise(() => undefined), set: async () => undefined };
    const { store } = storeOn(dead, { timeoutMs: 50, policy: 'deny' });
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => store.hit('k', 1, 60, 1000)));
    expect(
      outcomes.every((o) => o.status === 'rejected' && (o.reason as { getStatus(): number }).getStatus() === 503),
    ).toBe(true);
  });

  it('a failing get fails its round at once, and the next round calls the cache again', async () => {
    let fail = true;
    const cache = mapCache();
    const flaky: ThrottleCache = {
      get: (key) => (fail ? Promise.reject(new Error('ECONNRESET')) : cache.get(key)),
      set: cache.set,
    };
    const { store, logger } = storeOn(flaky, { timeoutMs: 1000, policy: 'deny' });
    await expect(store.hit('k', 1, 60, 1000)).rejects.toMatchObject({ status: 503 });
    fail = false;
    await expect(store.hit('k', 1, 60, 1000)).resolves.toMatchObject({ allowed: true });
    expect(logger.lines[0]).toMatch(/ECONNRESET/);
  });

  it('never mutates the value the cache handed out', async () => {
    const frozen = Object.freeze([1000]);
    const cache: ThrottleCache = { get: async <T>() => frozen as unknown as T, set: async () => undefined };
    const { store } = storeOn(cache, { timeoutMs: 1000 });
    await expect(store.hit('k', 5, 1, 2000)).resolves.toMatchObject({ allowed: true, count: 1 });
    expect(frozen).toEqual([1000]);
  });
});

/** Dyadic times and intervals: every operation is exact in binary floating point, so boundaries are hit exactly. */
const gcraTimeline = fc.record({
  limit: fc.integer({ min: 0, max: 6 }),
  interval: fc.constantFrom(0.25, 0.5, 1, 2),
  steps: fc.array(
    fc.record({ dt: fc.integer({ min: 0, max: 24 }).map((n) => n / 8), key: fc.constantFrom('a', 'b') }),
    { minLength: 1, maxLength: 60 },
  ),
});

it("GCRA on get/set: the reference model's decisions, counts and waits on random timelines, batched or not", async () => {
  await fc.assert(
    fc.asyncProperty(gcraTimeline, fc.boolean(), async ({ limit, interval, steps }, concurrent) => {
      const duration = Math.max(limit, 1) * interval;
      const { store } = storeOn(mapCache(), { timeoutMs: 1000 });
      const model = new GcraModel();
      let now = 1000;
      const expected: ReturnType<GcraModel['hit']>[] = [];
      const actual = [];
      for (const { dt, key } of steps) {
        now += dt;
        expected.push(model.hit(key, limit, duration, now));
        const pending = store.hit(key, limit, duration, now, 'gcra');
        actual.push(concurrent ? pending : await pending);
      }
      const results = await Promise.all(actual);
      results.forEach((result, i) => {
        const { wait, ...shape } = expected[i];
        expect(result).toEqual(shape);
        if (!result.allowed) expect(computeWait({ ...result, numRequests: limit, duration })).toBe(wait);
      });
    }),
    { numRuns: 200 },
  );
});

it('GCRA at a Unix time: a burst of exactly `limit` for any limit, rounding notwithstanding', async () => {
  const { store } = storeOn(mapCache(), { timeoutMs: 1000 });
  let run = 0;
  for (const limit of [3, 7, 9, 13, 50, 99, 1000]) {
    for (const duration of [1, 60, 86_400]) {
      for (const now of [1_795_975_641.181439, 1_795_975_641.9, 2_147_483_000.123457]) {
        const key = `burst${++run}`;
        const results = await Promise.all(
          Array.from({ length: limit + 2 }, () => store.hit(key, limit, duration, now, 'gcra')),
        );
        expect(results.filter((r) => r.allowed).map((r) => r.count)).toEqual(
          Array.from({ length: limit }, (_, i) => i + 1),
        );
      }
    }
  }
});

describe('storeForCache', () => {
  const options = { name: 'default', policy: 'allow' as const, timeoutMs: 100, logger: new Logger('test') };

  it("uses a ThrottleStore as it is (the default memory store, or an app's own)", () => {
    const own: ThrottleStore = { ownClock: false, hit: () => ({ allowed: true, now: 0, count: 1, oldest: 0 }) };
    expect(storeForCache(own, options)).toBe(own);
    const memory = new MemoryThrottleStore();
    expect(storeForCache(memory, options)).toBe(memory);
  });

  it('drives a Redis client through the Lua store, and any other get/set cache through rounds', () => {
    const ioredisLike = { call: async () => 'ok', pipeline: () => ({}), status: 'ready' };
    // Redis with its refusal cache (refusal-cache.spec.ts); a get/set cache asked every time.
    expect(storeForCache(ioredisLike, options)).toBeInstanceOf(RedisThrottleStore);
    expect(storeForCache(mapCache(), options)).toBeInstanceOf(CacheManagerStore);
  });

  it('refuses, by name, what is neither', () => {
    expect(() => storeForCache({ nothing: true }, options)).toThrow(ImproperlyConfiguredError);
    expect(() => storeForCache({ nothing: true }, options)).toThrow(/'default' is neither/);
  });
});
