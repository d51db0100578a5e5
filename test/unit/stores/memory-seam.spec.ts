/**
 * The memory store's side of the seam beyond the shared contract: what it keeps for blocks and looks (a blocked key
 * is never evicted nor swept before its end, a look stores nothing, an admin's block is kept in a full scope), and
 * the local fallback passing costs and blocks through at its share.
 */
import { MemoryThrottleStore } from 'restflow-throttle';
import { LocalFallback } from '../../../lib/stores/local-fallback';

const spec = { limit: 1, durationSec: 10, algorithm: 'sliding-log' as const, scope: 's' };

describe('MemoryThrottleStore and blocks', () => {
  it('a blocked key is not evicted from a full scope: the new key is refused instead', () => {
    const store = new MemoryThrottleStore(2);
    store.hit('blocked', 1, 10, 0, 'sliding-log', 's');
    store.hit('blocked', 1, 10, 1, 'sliding-log', 's', 1, 100); // blocked until 101
    store.hit('other', 5, 10, 1, 'sliding-log', 's');
    // At 50 the log of `blocked` is empty (a hit would fit but for the block); `other` has room: it goes.
    expect(store.hit('new', 5, 10, 50, 'sliding-log', 's').allowed).toBe(true);
    expect(store.hit('blocked', 1, 10, 51, 'sliding-log', 's')).toMatchObject({ allowed: false, oldest: 91 });
    // Both held keys are now kept (one blocked, one at its limit): a third new key is refused.
    for (let i = 0; i < 4; i++) store.hit('new', 5, 10, 52, 'sliding-log', 's');
    expect(store.hit('newer', 5, 10, 52, 'sliding-log', 's').allowed).toBe(false);
  });

  it('the sweep keeps a blocked key until its block ends, and is not held up by it', () => {
    const store = new MemoryThrottleStore();
    store.hit('k', 1, 10, 0, 'sliding-log', 's');
    store.hit('k', 1, 10, 1, 'sliding-log', 's', 1, 1000); // blocked until 1001, the coldest key of its scope
    for (let i = 0; i < 200; i++) store.hit(`filler${i}`, 5, 1, 500 + i * 0.001, 'sliding-log', 's');
    for (let i = 0; i < 300; i++) store.hit('live', 1000, 10, 999, 'sliding-log', 's');
    expect(store.size).toBe(2); // the fillers (expired at 501) swept; `k` kept
    expect(store.hit('k', 1, 10, 999, 'sliding-log', 's')).toMatchObject({ allowed: false, oldest: 991 });
    expect(store.hit('k', 1, 10, 1001, 'sliding-log', 's').allowed).toBe(true);
  });

  it("an admin's block is kept even in a full scope of keys at their limit", () => {
    const store = new MemoryThrottleStore(1);
    store.hit('full', 1, 10, 0, 'sliding-log', 's');
    store.block('admin', 30, spec, 1);
    expect(store.hit('admin', 1, 10, 2, 'sliding-log', 's')).toMatchObject({ allowed: false, oldest: 21 });
  });

  it('a look on a key never hit stores nothing', () => {
    const store = new MemoryThrottleStore();
    expect(store.hit('k', 3, 10, 0, 'sliding-log', 's', 0)).toMatchObject({ allowed: true, count: 0 });
    expect(store.hit('g', 3, 10, 0, 'gcra', 's', 0)).toMatchObject({ allowed: true, count: 0 });
    expect(store.size).toBe(0);
  });

  it('a key switching algorithms starts afresh, but keeps its block', () => {
    const store = new MemoryThrottleStore();
    store.block('k', 30, spec, 0);
    expect(store.hit('k', 1, 10, 1, 'gcra', 's')).toMatchObject({ allowed: false, oldest: 20 });
  });
});

describe('LocalFallback with costs and blocks', () => {
  it('passes cost and blockSec through, at its share, and reports in the throttle terms', () => {
    const local = new LocalFallback({ processes: 2 }); // 10 -> 5 here
    const hit = { key: 'k', limit: 10, duration: 60, now: 0, algorithm: 'sliding-log' as const };
    expect(local.hit({ ...hit, cost: 4 })).toMatchObject({ allowed: true, count: 9 });
    const refused = local.hit({ ...hit, now: 1, cost: 2, blockSec: 100 });
    expect(refused).toMatchObject({ allowed: false, count: 10, oldest: 41 }); // blocked until 101
  });

  it('hitAll: all or none at the shares', () => {
    const local = new LocalFallback({ processes: 2 });
    const a = { key: 'a', limit: 4, duration: 60, now: 0, algorithm: 'sliding-log' as const };
    const b = { ...a, key: 'b', limit: 2 };
    expect(local.hitAll([a, b], 0).map((r) => r.allowed)).toEqual([true, true]); // shares 2 and 1
    expect(local.hitAll([a, b], 0).map((r) => r.allowed)).toEqual([true, false]);
    expect(local.hit(a)).toMatchObject({ allowed: true, count: 4 }); // a's second hit was not kept
  });
});
