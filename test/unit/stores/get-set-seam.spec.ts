/**
 * The get/set store's side of the seam: its value format for blocks (old values still read), TTLs that cover a
 * block, hitAll under per-key locks (no deadlock, exact beside single hits, all or none in what it writes), and
 * its faults. The behaviour itself is the shared contract's (test/helpers/store-seam-contract.ts).
 */
import { computeWait, type ThrottleCache } from 'restflow-throttle';
import { CacheFaults } from '../../../lib/stores/cache-faults';
import { CacheManagerStore } from '../../../lib/stores/get-set/cache-manager.store';
import { KeyLocks } from '../../../lib/stores/get-set/key-locks';
import type { StoreHit } from '../../../lib/stores/throttle-store';

interface MapCache extends ThrottleCache {
  values: Map<string, unknown>;
  ttls: Map<string, number | undefined>;
  calls: { get: string[]; set: string[] };
}

/** A Map behind get/set, each call answered after `delayMs()` ms, recording the keys it was called with. */
function mapCache(delayMs: () => number = () => 0): MapCache {
  const values = new Map<string, unknown>();
  const ttls = new Map<string, number | undefined>();
  const calls = { get: [] as string[], set: [] as string[] };
  const later = <T>(value: () => T) => new Promise<T>((resolve) => setTimeout(() => resolve(value()), delayMs()));
  return {
    values,
    ttls,
    calls,
    get: <T>(key: string) => {
      calls.get.push(key);
      return later(() => structuredClone(values.get(key)) as T | undefined);
    },
    set: (key: string, value: unknown, ttl?: number) => {
      calls.set.push(key);
      const copy = structuredClone(value);
      return later(() => {
        values.set(key, copy);
        ttls.set(key, ttl);
      });
    },
  };
}

function storeOn(
  cache: ThrottleCache,
  timeoutMs = 1000,
  policy: 'allow' | 'deny' = 'allow',
  clock?: () => number,
): CacheManagerStore {
  const logger = { warn: () => undefined };
  return new CacheManagerStore(cache, new CacheFaults({ name: 'cache', policy, timeoutMs, logger, clock }));
}

const T = 1_000_000;
const log = (key: string, limit: number, extra: Partial<StoreHit> = {}): StoreHit => ({
  key,
  limit,
  durationSec: 60,
  algorithm: 'sliding-log',
  ...extra,
});

describe('get/set value format', () => {
  it('a blocked log is { blockedUntil, value: history } with a TTL to its end; unblocked, the plain list again', async () => {
    const cache = mapCache();
    const store = storeOn(cache);
    await store.hit('k', 1, 60, T);
    await store.hit('k', 1, 60, T + 1, 'sliding-log', undefined, 1, 300);
    expect(cache.values.get('k')).toEqual({ blockedUntil: T + 301, value: [T] });
    expect(cache.ttls.get('k')).toBe(300_000);
    await store.hit('k', 1, 60, T + 301);
    expect(cache.values.get('k')).toEqual([T + 301]);
    expect(cache.ttls.get('k')).toBe(60_000);
  });

  it('a blocked GCRA key is { blockedUntil, value: tat }', async () => {
    const cache = mapCache();
    const store = storeOn(cache);
    await store.hit('g', 1, 60, T, 'gcra');
    await store.hit('g', 1, 60, T + 1, 'gcra', undefined, 1, 100);
    expect(cache.values.get('g')).toEqual({ blockedUntil: T + 101, value: T + 60 });
    expect(cache.ttls.get('g')).toBe(100_000);
    await store.block('never-hit', 10, { limit: 1, durationSec: 60, algorithm: 'gcra' }, T);
    expect(cache.values.get('never-hit')).toEqual({ blockedUntil: T + 10, value: [] });
  });

  it('values written before blocks existed are read as they were: the DRF list, the GCRA number', async () => {
    const cache = mapCache();
    cache.values.set('old-log', [T + 20, T + 10, T]);
    cache.values.set('old-gcra', T + 60);
    const store = storeOn(cache);
    const logged = await store.hit('old-log', 3, 60, T + 30);
    expect(computeWait({ ...logged, numRequests: 3, duration: 60 })).toBe(30);
    const gcra = await store.hit('old-gcra', 3, 60, T, 'gcra');
    expect(computeWait({ ...gcra, numRequests: 3, duration: 60 })).toBe(20);
  });

  it('forget writes an empty value, which both algorithms read as a fresh key (and no block)', async () => {
    const cache = mapCache();
    const store = storeOn(cache);
    await store.block('k', 100, { limit: 1, durationSec: 60, algorithm: 'sliding-log' }, T);
    await store.forget('k');
    expect(cache.values.get('k')).toEqual([]);
    expect((await store.hit('k', 1, 60, T + 1)).allowed).toBe(true);
  });
});

describe('get/set hitAll', () => {
  it('two requests taking the same keys in opposite orders on a slow cache both finish, exactly', async () => {
    const cache = mapCache(() => 5);
    const store = storeOn(cache);
    const requests = Array.from({ length: 20 }, (_, i) =>
      store.hitAll(i % 2 === 0 ? [log('a', 10), log('b', 10)] : [log('b', 10), log('a', 10)], T),
    );
    const results = await Promise.all(requests);
    expect(results.filter((pair) => pair.every((r) => r.allowed))).toHaveLength(10);
    expect(cache.values.get('a')).toHaveLength(10);
    expect(cache.values.get('b')).toHaveLength(10);
  });

  it('single hits and hitAll on one key are counted exactly, whichever comes first', async () => {
    const cache = mapCache(() => 3);
    const store = storeOn(cache);
    const pending: Promise<boolean>[] = [];
    for (let i = 0; i < 12; i++) {
      pending.push(store.hit('a', 5, 60, T).then((r) => r.allowed));
      pending.push(store.hitAll([log('a', 5), log(`other${i}`, 5)], T).then((rs) => rs.every((r) => r.allowed)));
    }
    expect((await Promise.all(pending)).filter(Boolean)).toHaveLength(5);
    expect(cache.values.get('a')).toHaveLength(5);
  });

  it('a refused hitAll writes only the key whose refusal started a block', async () => {
    const cache = mapCache();
    const store = storeOn(cache);
    await store.hit('b', 1, 60, T);
    cache.calls.set = [];
    const results = await store.hitAll([log('a', 5), log('b', 1, { blockSec: 100 }), log('c', 5)], T + 1);
    expect(results.map((r) => r.allowed)).toEqual([true, false, true]);
    expect(cache.calls.set).toEqual(['b']);
    expect(cache.values.get('b')).toEqual({ blockedUntil: T + 101, value: [T] });
    cache.calls.set = [];
    await store.hitAll([log('a', 5), log('b', 1)], T + 2);
    expect(cache.calls.set).toEqual([]); // refused by the block: nothing to write
  });

  it("on a dead cache: answered by the policy ('deny': 503) within the deadline, and its keys are free again", async () => {
    let dead = true;
    const working = mapCache();
    const cache: ThrottleCache = {
      get: (key) => (dead ? new Promise(() => undefined) : working.get(key)),
      set: (key, value, ttl) => working.set(key, value, ttl),
    };
    let ms = 0;
    const store = storeOn(cache, 30, 'deny', () => ms);
    await expect(store.hitAll([log('a', 5), log('b', 5)], T)).rejects.toMatchObject({ status: 503 });
    dead = false;
    ms += 1000; // CacheFaults' probe interval
    await expect(store.hitAll([log('b', 5), log('a', 5)], T)).resolves.toMatchObject([
      { allowed: true },
      { allowed: true },
    ]);
  });

  it('refund and block reject when the cache fails', async () => {
    const failing: ThrottleCache = { get: () => Promise.reject(new Error('ECONNRESET')), set: async () => undefined };
    const store = storeOn(failing);
    const spec = { limit: 1, durationSec: 60, algorithm: 'sliding-log' } as const;
    await expect(store.refund('k', 1, spec, T)).rejects.toThrow('ECONNRESET');
    await expect(store.block('k', 10, spec, T)).rejects.toThrow('ECONNRESET');
  });
});

describe('KeyLocks', () => {
  it('grants a key in arrival order, and several keys in sorted order', () => {
    const locks = new KeyLocks();
    const order: string[] = [];
    locks.acquire('b', () => order.push('first b'));
    locks.acquireAll(['c', 'b', 'a'], () => order.push('all'));
    locks.acquire('a', () => order.push('second a'));
    expect(order).toEqual(['first b']); // `all` holds a, waits for b; `second a` waits for `all`
    locks.release('b');
    expect(order).toEqual(['first b', 'all']);
    for (const key of ['a', 'b', 'c']) locks.release(key);
    expect(order).toEqual(['first b', 'all', 'second a']);
    locks.release('a');
    expect(['a', 'b', 'c'].map((key) => locks.isHeld(key))).toEqual([false, false, false]);
  });
});
