/**
 * The refusal cache in front of a shared store: a key the store refused is answered in process until its wait
 * ends (no call), then asked again; `now` moves on so DRF's wait counts down; only refusals of a full window
 * are remembered, for their own rate; at most 10 000 keys, expired ones dropped first; reset() forgets.
 */
import { Logger } from '@nestjs/common';
import { ImproperlyConfiguredError, MemoryThrottleStore } from 'restflow-throttle';
import { validateOptions } from '../../../lib/module/options-validation';
import { MAX_WAITING_PER_KEY } from '../../../lib/stores/redis/hit-queue';
import { REFUSAL_CACHE_MAX_KEYS, RefusalCache } from '../../../lib/stores/refusal-cache';
import { storeForCache } from '../../../lib/stores/store-for-cache';
import type { HitResult, ThrottleAlgorithm, ThrottleStore } from '../../../lib/stores/throttle-store';
import { computeWait } from '../../../lib/throttles/rate';

/** A shared store as far as the cache can tell: it answers a turn later, and counts the calls it gets. */
class SlowStore implements ThrottleStore {
  readonly memory = new MemoryThrottleStore();
  calls = 0;
  resets = 0;
  constructor(readonly ownClock = false) {}

  hit(key: string, limit: number, duration: number, now: number | undefined, algorithm?: ThrottleAlgorithm) {
    this.calls++;
    // A store with a clock of its own (Redis' TIME) reads it; here, the monotonic clock plus an offset.
    const at = now ?? performance.now() / 1000 + 5_000;
    const result = this.memory.hit(key, limit, duration, at, algorithm);
    return new Promise<HitResult>((resolve) => setImmediate(() => resolve(result)));
  }

  reset(): void {
    this.resets++;
    this.memory.reset();
  }
}

const wait = (r: HitResult, limit: number, duration: number) => computeWait({ ...r, numRequests: limit, duration });

describe('RefusalCache', () => {
  it('after the first refusal, answers the key with no call until its wait ends, then asks the store', async () => {
    const store = new SlowStore();
    const cache = new RefusalCache(store);
    for (let i = 0; i < 5; i++) expect((await cache.hit('k', 5, 60, 100 + i)).allowed).toBe(true);
    const first = await cache.hit('k', 5, 60, 110);
    expect(first).toEqual({ allowed: false, now: 110, count: 5, oldest: 100 });
    expect(store.calls).toBe(6);
    for (let i = 0; i < 1000; i++) {
      const at = 110 + (i * 49.9) / 1000;
      const local = cache.hit('k', 5, 60, at);
      // Answered at once (no promise), as the store would: the same window, `now` moved on.
      expect(local).toEqual({ allowed: false, now: at, count: 5, oldest: 100 });
    }
    expect(store.calls).toBe(6);
    expect(wait(cache.hit('k', 5, 60, 150) as HitResult, 5, 60)).toBe(10);
    // The oldest stamp (100) leaves the window at 160: from then on the store decides, and admits.
    expect(cache.hit('k', 5, 60, 159.99)).toMatchObject({ allowed: false });
    expect(store.calls).toBe(6);
    expect(await cache.hit('k', 5, 60, 160)).toMatchObject({ allowed: true, count: 5, oldest: 101 });
    expect(store.calls).toBe(7);
  });

  it('on a store with its own clock, the local now moves on by the monotonic time elapsed', async () => {
    const store = new SlowStore(true);
    const cache = new RefusalCache(store);
    expect(cache.ownClock).toBe(true);
    const realNow = performance.now;
    let ms = 1_000_000;
    performance.now = () => ms;
    try {
      for (let i = 0; i < 3; i++) await cache.hit('k', 3, 10, undefined);
      const refused = await cache.hit('k', 3, 10, undefined);
      expect(refused).toMatchObject({ allowed: false, now: 6_000, count: 3, oldest: 6_000 });
      ms += 4_000;
      const local = cache.hit('k', 3, 10, undefined) as HitResult;
      expect(local).toMatchObject({ allowed: false, count: 3, oldest: 6_000 });
      expect(local.now).toBeCloseTo(6_004, 6);
      expect(wait(local, 3, 10)).toBeCloseTo(6, 6);
      expect(store.calls).toBe(4);
      ms += 6_000;
      expect(await cache.hit('k', 3, 10, undefined)).toMatchObject({ allowed: true, count: 1 });
      expect(store.calls).toBe(5);
    } finally {
      performance.now = realNow;
    }
  });

  it('a GCRA refusal holds until the next admission is due, less the slack the store gives', async () => {
    const store = new SlowStore();
    const cache = new RefusalCache(store);
    for (let i = 0; i < 4; i++) await cache.hit('g', 4, 60, 1000, 'gcra');
    const refused = await cache.hit('g', 4, 60, 1000, 'gcra');
    expect(wait(refused, 4, 60)).toBeCloseTo(15, 6);
    expect(cache.hit('g', 4, 60, 1014.99, 'gcra')).toMatchObject({ allowed: false });
    expect(store.calls).toBe(5);
    expect(await cache.hit('g', 4, 60, 1015, 'gcra')).toMatchObject({ allowed: true });
    expect(store.calls).toBe(6);
  });

  it('answers from a refusal only at its own rate: another limit, period or algorithm asks the store', async () => {
    const store = new SlowStore();
    const cache = new RefusalCache(store);
    for (let i = 0; i < 3; i++) await cache.hit('k', 3, 60, 10);
    expect(await cache.hit('k', 3, 60, 11)).toMatchObject({ allowed: false });
    const calls = store.calls;
    expect(await cache.hit('k', 10, 60, 12)).toMatchObject({ allowed: true, count: 4 });
    expect(await cache.hit('k', 3, 30, 12)).toMatchObject({ allowed: false });
    expect(await cache.hit('k', 3, 60, 12, 'gcra')).toMatchObject({ allowed: true });
    expect(store.calls).toBe(calls + 3);
  });

  it('never remembers an admission, nor a refusal that does not say when it ends', async () => {
    const answers: HitResult[] = [
      { allowed: true, now: 1, count: 1, oldest: 1 },
      // More than the limit counted (a rate lowered on a busy key): DRF gives no wait.
      { allowed: false, now: 1, count: 7, oldest: 0 },
      // A refusal of a window that is not full: not the shape of either algorithm.
      { allowed: false, now: 1, count: 2, oldest: 0 },
    ];
    let calls = 0;
    const cache = new RefusalCache({ ownClock: false, hit: () => answers[calls++ % answers.length] });
    for (let i = 0; i < 9; i++) cache.hit('k', 5, 60, 1);
    expect(calls).toBe(9);
    expect(cache.size).toBe(0);
  });

  it('a limit of 0 is remembered for a whole period', () => {
    let calls = 0;
    const memory = new MemoryThrottleStore();
    const cache = new RefusalCache({ ownClock: false, hit: (...args) => (calls++, memory.hit(...args)) });
    expect(cache.hit('z', 0, 60, 1)).toEqual({ allowed: false, now: 1, count: 0, oldest: null });
    expect(cache.hit('z', 0, 60, 60.9)).toEqual({ allowed: false, now: 60.9, count: 0, oldest: null });
    expect(calls).toBe(1);
    expect(cache.hit('z', 0, 60, 61)).toMatchObject({ allowed: false });
    expect(calls).toBe(2);
  });

  it(`holds at most ${REFUSAL_CACHE_MAX_KEYS} keys under 50 000 distinct refused keys`, () => {
    const memory = new MemoryThrottleStore(100_000);
    let calls = 0;
    const cache = new RefusalCache({ ownClock: false, hit: (...args) => (calls++, memory.hit(...args)) });
    let [largest, refused] = [0, 0];
    for (let k = 0; k < 50_000; k++) {
      cache.hit(`k${k}`, 1, 600, k * 1e-3);
      if (!(cache.hit(`k${k}`, 1, 600, k * 1e-3) as HitResult).allowed) refused++;
      largest = Math.max(largest, cache.size);
    }
    expect([largest, refused]).toEqual([REFUSAL_CACHE_MAX_KEYS, 50_000]);
    expect(calls).toBe(100_000);
    // The newest refusals are the ones kept: answered with no call.
    cache.hit('k49999', 1, 600, 50);
    expect(calls).toBe(100_000);
  });

  it('when full, drops the expired refusals first and keeps every one still running', () => {
    const memory = new MemoryThrottleStore(100_000);
    let calls = 0;
    const cache = new RefusalCache({ ownClock: false, hit: (...args) => (calls++, memory.hit(...args)) });
    const refuse = (key: string, duration: number, now: number) => {
      memory.hit(key, 1, duration, now);
      cache.hit(key, 1, duration, now);
    };
    // Half the room taken by refusals of 1 s, then long ones: past 1 s, the short ones go, no long one.
    for (let k = 0; k < REFUSAL_CACHE_MAX_KEYS / 2; k++) refuse(`short${k}`, 1, 0);
    for (let k = 0; k < REFUSAL_CACHE_MAX_KEYS; k++) refuse(`long${k}`, 3600, 2);
    expect(cache.size).toBe(REFUSAL_CACHE_MAX_KEYS);
    const before = calls;
    for (let k = 0; k < REFUSAL_CACHE_MAX_KEYS; k++)
      expect(cache.hit(`long${k}`, 1, 3600, 3)).toMatchObject({ allowed: false });
    expect(calls).toBe(before);
  });

  it('reset() forgets every refusal, and one in flight across it is not remembered', async () => {
    const store = new SlowStore();
    const cache = new RefusalCache(store);
    await cache.hit('k', 1, 60, 1);
    await cache.hit('k', 1, 60, 2);
    expect(cache.size).toBe(1);
    await cache.reset!(['*']);
    expect(cache.size).toBe(0);
    expect(store.resets).toBe(1);
    expect(await cache.hit('k', 1, 60, 3)).toMatchObject({ allowed: true });
    // Refused by the store, but answered after the refusals were forgotten: not remembered.
    const late = cache.hit('k', 1, 60, 4);
    cache.clear();
    expect(await late).toMatchObject({ allowed: false });
    expect(cache.size).toBe(0);
  });

  it('has no reset() when the store has none, so resetThrottles() names the store that cannot forget', () => {
    expect(
      new RefusalCache({ ownClock: false, hit: () => ({ allowed: true, now: 0, count: 1, oldest: 0 }) }).reset,
    ).toBeUndefined();
  });
});

describe('storeForCache and the refusal cache', () => {
  const options = {
    name: 'default',
    policy: 'allow' as const,
    timeoutMs: 60_000,
    logger: { warn() {} } as unknown as Logger,
  };
  /** An ioredis-like client every command of which fails: the policy answers, nothing is decided by Redis. */
  const failing = () => {
    const sent = { commands: 0 };
    const fail = async () => {
      sent.commands++;
      throw new Error('down');
    };
    const pipeline = () => {
      const queued: unknown[] = [];
      return {
        call: (...args: unknown[]) => queued.push(args),
        exec: async () => ((sent.commands += queued.length), queued.map(() => [new Error('down'), null])),
      };
    };
    return { client: { call: fail, pipeline, status: 'ready' }, sent };
  };

  it('fronts Redis unless refusalCache is false; never a get/set cache (often emptied by hand), nor a ThrottleStore', () => {
    const { client } = failing();
    const getSet = { get: async () => undefined, set: async () => undefined };
    expect(storeForCache(client, options)).toBeInstanceOf(RefusalCache);
    expect(storeForCache(getSet, options)).not.toBeInstanceOf(RefusalCache);
    expect(storeForCache(client, { ...options, refusalCache: false })).not.toBeInstanceOf(RefusalCache);
    expect(storeForCache(getSet, { ...options, refusalCache: false })).not.toBeInstanceOf(RefusalCache);
    const memory = new MemoryThrottleStore();
    expect(storeForCache(memory, options)).toBe(memory);
  });

  it("does not remember the Redis store's overload refusals, which stand for one request only", async () => {
    const { client, sent } = failing();
    const store = storeForCache(client, options) as RefusalCache;
    const hits = Array.from({ length: MAX_WAITING_PER_KEY + 8 }, () => store.hit('k', 5, 60, undefined));
    const results = await Promise.all(hits);
    expect(results.filter((r) => !r.allowed)).toHaveLength(8);
    expect(store.size).toBe(0);
    const before = sent.commands;
    await store.hit('k', 5, 60, undefined);
    expect(sent.commands).toBeGreaterThan(before);
  });
});

describe('the refusalCache option', () => {
  it('takes true or false; anything else stops the app with RFT_INVALID_OPTION, naming what it got', () => {
    expect(validateOptions({ refusalCache: false })).toEqual({ refusalCache: false });
    expect(validateOptions({ refusalCache: true })).toEqual({ refusalCache: true });
    const wrong = (value: unknown) => {
      try {
        validateOptions({ refusalCache: value as boolean });
      } catch (error) {
        return error as ImproperlyConfiguredError;
      }
      throw new Error(`refusalCache: ${String(value)} was taken`);
    };
    expect(wrong('false').code).toBe('RFT_INVALID_OPTION');
    expect(wrong('false').message).toBe(
      'RestflowThrottleModule: refusalCache must be true or false, got "false" (a string from the environment: ' +
        'compare it with "false").',
    );
    expect(wrong(0).message).toBe('RestflowThrottleModule: refusalCache must be true or false, got 0.');
  });
});
