/**
 * The Redis store's refusal cache: a key Redis refused is answered in process until its wait ends (no call),
 * then asked again; `now` moves on so DRF's wait counts down; only refusals of a full window are remembered, for
 * their own rate; at most 10 000 keys, expired ones dropped first; reset() forgets. Against a fake Redis whose
 * server is the memory store (test/helpers/memory-script-connection.ts), through the real store and its lanes.
 */
import { Logger } from '@nestjs/common';
import { ImproperlyConfiguredError, MemoryThrottleStore } from 'restflow-throttle';
import { validateOptions } from '../../../lib/module/options-validation';
import { CacheFaults } from '../../../lib/stores/cache-faults';
import { MAX_WAITING_PER_KEY } from '../../../lib/stores/redis/hit-queue';
import { RedisThrottleStore } from '../../../lib/stores/redis/redis.store';
import { REFUSAL_CACHE_MAX_KEYS, RefusalCache } from '../../../lib/stores/redis/refusal-cache';
import { storeForCache } from '../../../lib/stores/store-for-cache';
import type { HitResult } from '../../../lib/stores/throttle-store';
import { computeWait } from '../../../lib/throttles/rate';
import { MemoryScriptConnection } from '../../helpers/memory-script-connection';

/** The Redis store on a fake server, with its refusal cache. */
function storeOn(connection = new MemoryScriptConnection()) {
  const refusals = new RefusalCache();
  const faults = new CacheFaults({ name: 'fake', policy: 'deny', timeoutMs: 60_000 });
  return { store: new RedisThrottleStore(connection, faults, refusals), refusals, connection };
}

const wait = (r: HitResult, limit: number, duration: number) => computeWait({ ...r, numRequests: limit, duration });

/** `hits` decided, as many at once as the store takes: one batch, decided in order. */
const all = (hits: Array<HitResult | Promise<HitResult>>) => Promise.all(hits);

describe('RefusalCache', () => {
  it('after the first refusal, answers the key with no call until its wait ends, then asks the store', async () => {
    const { store, connection } = storeOn();
    for (let i = 0; i < 5; i++) expect((await store.hit('k', 5, 60, 100 + i)).allowed).toBe(true);
    const first = await store.hit('k', 5, 60, 110);
    expect(first).toEqual({ allowed: false, now: 110, count: 5, oldest: 100 });
    expect(connection.hits).toBe(6);
    for (let i = 0; i < 1000; i++) {
      const at = 110 + (i * 49.9) / 1000;
      const local = store.hit('k', 5, 60, at);
      // Answered at once (no promise), as Redis would: the same window, `now` moved on.
      expect(local).toEqual({ allowed: false, now: at, count: 5, oldest: 100 });
    }
    expect(connection.hits).toBe(6);
    expect(wait(store.hit('k', 5, 60, 150) as HitResult, 5, 60)).toBe(10);
    // The oldest stamp (100) leaves the window at 160: from then on Redis decides, and admits.
    expect(store.hit('k', 5, 60, 159.99)).toMatchObject({ allowed: false });
    expect(connection.hits).toBe(6);
    expect(await store.hit('k', 5, 60, 160)).toMatchObject({ allowed: true, count: 5, oldest: 101 });
    expect(connection.hits).toBe(7);
  });

  it("on the server's clock, the local now moves on by the monotonic time elapsed since the batch was sent", async () => {
    const realNow = performance.now;
    let ms = 1_000_000;
    performance.now = () => ms;
    try {
      const { store, connection } = storeOn();
      for (let i = 0; i < 3; i++) await store.hit('k', 3, 10, undefined);
      const refused = await store.hit('k', 3, 10, undefined);
      expect(refused).toMatchObject({ allowed: false, now: 6_000, count: 3, oldest: 6_000 });
      ms += 4_000;
      const local = store.hit('k', 3, 10, undefined) as HitResult;
      expect(local).toMatchObject({ allowed: false, count: 3, oldest: 6_000 });
      expect(local.now).toBeCloseTo(6_004, 6);
      expect(wait(local, 3, 10)).toBeCloseTo(6, 6);
      expect(connection.hits).toBe(4);
      ms += 6_000;
      expect(await store.hit('k', 3, 10, undefined)).toMatchObject({ allowed: true, count: 1 });
      expect(connection.hits).toBe(5);
    } finally {
      performance.now = realNow;
    }
  });

  it('a GCRA refusal holds until the next admission is due, less the slack the store gives', async () => {
    const { store, connection } = storeOn();
    for (let i = 0; i < 4; i++) await store.hit('g', 4, 60, 1000, 'gcra');
    const refused = await store.hit('g', 4, 60, 1000, 'gcra');
    expect(wait(refused, 4, 60)).toBeCloseTo(15, 6);
    expect(store.hit('g', 4, 60, 1014.99, 'gcra')).toMatchObject({ allowed: false });
    expect(connection.hits).toBe(5);
    expect(await store.hit('g', 4, 60, 1015, 'gcra')).toMatchObject({ allowed: true });
    expect(connection.hits).toBe(6);
  });

  it('answers from a refusal only at its own rate: another limit, period or algorithm asks the store', async () => {
    const { store, connection } = storeOn();
    for (let i = 0; i < 3; i++) await store.hit('k', 3, 60, 10);
    expect(await store.hit('k', 3, 60, 11)).toMatchObject({ allowed: false });
    const calls = connection.hits;
    expect(await store.hit('k', 10, 60, 12)).toMatchObject({ allowed: true, count: 4 });
    expect(await store.hit('k', 3, 30, 12)).toMatchObject({ allowed: false });
    expect(await store.hit('k', 3, 60, 12, 'gcra')).toMatchObject({ allowed: true });
    expect(connection.hits).toBe(calls + 3);
  });

  it('never remembers an admission, nor a refusal that does not say when it ends', async () => {
    const answers: HitResult[] = [
      { allowed: true, now: 1, count: 1, oldest: 1 },
      // More than the limit counted (a rate lowered on a busy key): DRF gives no wait.
      { allowed: false, now: 1, count: 7, oldest: 0 },
      // A refusal of a window that is not full: not the shape of either algorithm.
      { allowed: false, now: 1, count: 2, oldest: 0 },
    ];
    const { store, refusals, connection } = storeOn();
    connection.decide = () => answers[connection.hits % answers.length];
    for (let i = 0; i < 9; i++) await store.hit('k', 5, 60, 1);
    expect(connection.hits).toBe(9);
    expect(refusals.size).toBe(0);
  });

  it('a limit of 0 is remembered for a whole period', async () => {
    const { store, connection } = storeOn();
    expect(await store.hit('z', 0, 60, 1)).toEqual({ allowed: false, now: 1, count: 0, oldest: null });
    expect(store.hit('z', 0, 60, 60.9)).toEqual({ allowed: false, now: 60.9, count: 0, oldest: null });
    expect(connection.hits).toBe(1);
    expect(await store.hit('z', 0, 60, 61)).toMatchObject({ allowed: false });
    expect(connection.hits).toBe(2);
  });

  it(`holds at most ${REFUSAL_CACHE_MAX_KEYS} keys under 50 000 distinct refused keys`, async () => {
    const { store, refusals, connection } = storeOn();
    let [largest, refused] = [0, 0];
    // 500 keys a batch, each hit twice: admitted, then refused and remembered.
    for (let from = 0; from < 50_000; from += 500) {
      const hits: Array<HitResult | Promise<HitResult>> = [];
      for (let k = from; k < from + 500; k++)
        hits.push(store.hit(`k${k}`, 1, 600, k * 1e-3), store.hit(`k${k}`, 1, 600, k * 1e-3));
      refused += (await all(hits)).filter((r) => !r.allowed).length;
      largest = Math.max(largest, refusals.size);
    }
    expect([largest, refused]).toEqual([REFUSAL_CACHE_MAX_KEYS, 50_000]);
    expect(connection.hits).toBe(100_000);
    // The newest refusals are the ones kept: answered with no call.
    expect(store.hit('k49999', 1, 600, 50)).toMatchObject({ allowed: false });
    expect(connection.hits).toBe(100_000);
  });

  it('when full, drops the expired refusals first and keeps every one still running', async () => {
    const { store, refusals, connection } = storeOn();
    const refuse = async (keys: string[], duration: number, now: number) => {
      for (const key of keys) connection.memory.hit(key, 1, duration, now);
      await all(keys.map((key) => store.hit(key, 1, duration, now)));
    };
    const keys = (prefix: string, count: number) => Array.from({ length: count }, (_, k) => `${prefix}${k}`);
    // Half the room taken by refusals of 1 s, then long ones: past 1 s, the short ones go, no long one.
    await refuse(keys('short', REFUSAL_CACHE_MAX_KEYS / 2), 1, 0);
    for (let k = 0; k < REFUSAL_CACHE_MAX_KEYS; k += 500)
      await refuse(keys('long', REFUSAL_CACHE_MAX_KEYS).slice(k, k + 500), 3600, 2);
    expect(refusals.size).toBe(REFUSAL_CACHE_MAX_KEYS);
    const before = connection.hits;
    for (const key of keys('long', REFUSAL_CACHE_MAX_KEYS))
      expect(store.hit(key, 1, 3600, 3)).toMatchObject({ allowed: false });
    expect(connection.hits).toBe(before);
  });

  it('reset() forgets every refusal, and one in flight across it is not remembered', async () => {
    const { store, refusals } = storeOn();
    await store.hit('k', 1, 60, 1);
    await store.hit('k', 1, 60, 2);
    expect(refusals.size).toBe(1);
    await store.reset(['*']);
    expect(refusals.size).toBe(0);
    expect(await store.hit('k', 1, 60, 3)).toMatchObject({ allowed: false });
    expect(refusals.size).toBe(1);
    refusals.clear();
    // Refused by Redis, but answered after the refusals were forgotten: not remembered.
    const late = store.hit('k', 1, 60, 4);
    await new Promise((resolve) => setImmediate(resolve)); // the batch is sent
    refusals.clear();
    expect(await late).toMatchObject({ allowed: false });
    expect(refusals.size).toBe(0);
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
    const refusalsOf = (store: object) => (store as Partial<RedisThrottleStore>).refusals;
    expect(refusalsOf(storeForCache(client, options))).toBeInstanceOf(RefusalCache);
    expect(refusalsOf(storeForCache(getSet, options))).toBeUndefined();
    expect(refusalsOf(storeForCache(client, { ...options, refusalCache: false }))).toBeUndefined();
    expect(refusalsOf(storeForCache(getSet, { ...options, refusalCache: false }))).toBeUndefined();
    const memory = new MemoryThrottleStore();
    expect(storeForCache(memory, options)).toBe(memory);
  });

  it("does not remember the Redis store's overload refusals, which stand for one request only", async () => {
    const { client, sent } = failing();
    const store = storeForCache(client, options) as RedisThrottleStore;
    const hits = Array.from({ length: MAX_WAITING_PER_KEY + 8 }, () => store.hit('k', 5, 60, undefined));
    const results = await Promise.all(hits);
    expect(results.filter((r) => !r.allowed)).toHaveLength(8);
    expect(store.refusals?.size).toBe(0);
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
