import { createCache } from 'cache-manager';
import { MemoryThrottleStore } from 'restflow-throttle';

describe('MemoryThrottleStore', () => {
  it('is a sliding log: drops timestamps <= now - duration, records only admitted requests', () => {
    const store = new MemoryThrottleStore();
    expect(store.hit('k', 2, 10, 0)).toEqual({ allowed: true, now: 0, count: 1, oldest: 0 });
    expect(store.hit('k', 2, 10, 5)).toEqual({ allowed: true, now: 5, count: 2, oldest: 0 });
    expect(store.hit('k', 2, 10, 9)).toEqual({ allowed: false, now: 9, count: 2, oldest: 0 });
    // At t=10 the entry of t=0 is out (<= now - duration), the denied one was never recorded.
    expect(store.hit('k', 2, 10, 10)).toEqual({ allowed: true, now: 10, count: 2, oldest: 5 });
  });

  it('a limit of 0 denies with an empty history', () => {
    expect(new MemoryThrottleStore().hit('k', 0, 60, 1)).toEqual({ allowed: false, now: 1, count: 0, oldest: null });
  });

  it('handles a limit of 100 000 exactly', () => {
    const store = new MemoryThrottleStore();
    let admitted = 0;
    for (let i = 0; i < 100_001; i++) if (store.hit('hot', 100_000, 60, 1 + i * 1e-6).allowed) admitted++;
    expect(admitted).toBe(100_000);
    // One window later everything has expired and the log starts again.
    expect(store.hit('hot', 100_000, 60, 62)).toMatchObject({ allowed: true, count: 1 });
  });

  it('keeps a long-running key compact while it slides', () => {
    const store = new MemoryThrottleStore();
    for (let i = 0; i < 10_000; i++) expect(store.hit('k', 10, 1, i * 0.2).allowed).toBe(true);
    expect(store.hit('k', 10, 1, 2000).count).toBeLessThanOrEqual(10);
  });

  it('is bounded in keys: the least recently used goes first', () => {
    const store = new MemoryThrottleStore(3);
    store.hit('a', 5, 60, 0);
    store.hit('b', 5, 60, 0);
    store.hit('c', 5, 60, 0);
    store.hit('a', 5, 60, 1); // a is now the most recent
    store.hit('d', 5, 60, 1); // evicts b
    expect(store.size).toBe(3);
    expect(store.hit('b', 5, 60, 2).count).toBe(1); // fresh
    expect(store.hit('a', 5, 60, 2).count).toBe(3); // kept its history
  });

  it('sweeps expired keys without timers', () => {
    const store = new MemoryThrottleStore();
    for (let i = 0; i < 100; i++) store.hit(`k${i}`, 5, 1, 0);
    for (let i = 0; i < 60; i++) store.hit('live', 1000, 1, 5 + i * 0.01);
    expect(store.size).toBeLessThan(100);
  });

  it('rejects a non-positive bound', () => {
    expect(() => new MemoryThrottleStore(0)).toThrow(RangeError);
  });

  it('is a cache-manager store: get/set/del/keys/reset, and logs read as DRF history (newest first)', async () => {
    const store = new MemoryThrottleStore(100, () => 12);
    const cache = createCache(store);
    await cache.set('plain', { a: 1 }, 60_000);
    expect(await cache.get('plain')).toEqual({ a: 1 });
    store.hit('throttle_anon_1.2.3.4', 5, 60, 10);
    store.hit('throttle_anon_1.2.3.4', 5, 60, 11);
    expect(await cache.get('throttle_anon_1.2.3.4')).toEqual([11, 10]);
    expect((await cache.store.keys('throttle_*')).sort()).toEqual(['throttle_anon_1.2.3.4']);
    await cache.del('plain');
    expect(await cache.get('plain')).toBeUndefined();
    await cache.reset();
    expect(await cache.store.keys()).toEqual([]);
  });
});
