/**
 * The refusal cache and the store seam: cost and blockSec reach Redis; a refusal answers in process only the
 * hits Redis would refuse without recording or blocking anything (costs at least its own, and a hit with a block
 * only once the key is blocked); hitAll is answered in process when every key is known refused, else asked and
 * learned from; refund, block and forget reach Redis and drop this process's refusal of the key. Against a fake
 * Redis whose server is the memory store (test/helpers/memory-script-connection.ts), through the real store.
 */
import { CacheFaults } from '../../../lib/stores/cache-faults';
import { RedisThrottleStore } from '../../../lib/stores/redis/redis.store';
import { RefusalCache } from '../../../lib/stores/redis/refusal-cache';
import type { HitResult, KeySpec, StoreHit } from '../../../lib/stores/throttle-store';
import { computeWait } from '../../../lib/throttles/rate';
import { MemoryScriptConnection } from '../../helpers/memory-script-connection';

/** The Redis store on a fake server, with its refusal cache: `cache` is what the app asks, `store` the server. */
function storeOn() {
  const store = new MemoryScriptConnection();
  const faults = new CacheFaults({ name: 'fake', policy: 'deny', timeoutMs: 60_000 });
  const refusals = new RefusalCache();
  return { cache: new RedisThrottleStore(store, faults, refusals), refusals, store };
}

const wait = (r: HitResult, limit: number, duration = 60) => computeWait({ ...r, numRequests: limit, duration });
const spec: KeySpec = { limit: 3, durationSec: 60, algorithm: 'sliding-log' };

describe('RefusalCache over the store seam', () => {
  it('passes cost and blockSec to the store', async () => {
    const { cache, store } = storeOn();
    expect(await cache.hit('k', 5, 60, 1, 'sliding-log', 's', 3, 10)).toMatchObject({ allowed: true, count: 3 });
    expect(store.calls).toEqual(['hit k 3 10']);
  });

  it('a refusal at cost c answers costs >= c (a look counts as 1) in process; a smaller cost asks the store', async () => {
    const { cache, store } = storeOn();
    await cache.hit('k', 5, 60, 1, 'sliding-log', 's', 3);
    expect(await cache.hit('k', 5, 60, 2, 'sliding-log', 's', 3)).toMatchObject({ allowed: false, count: 5 });
    const calls = store.calls.length;
    expect(cache.hit('k', 5, 60, 3, 'sliding-log', 's', 4)).toMatchObject({ allowed: false });
    expect(store.calls).toHaveLength(calls);
    expect(await cache.hit('k', 5, 60, 3, 'sliding-log', 's', 0)).toMatchObject({ allowed: true, count: 3 });
    expect(await cache.hit('k', 5, 60, 3, 'sliding-log', 's', 2)).toMatchObject({ allowed: true, count: 5 });
    expect(store.calls).toHaveLength(calls + 2);
  });

  it('a hit with blockSec asks the store past a refusal learned without one, then its block answers every hit', async () => {
    const { cache, store } = storeOn();
    await cache.hit('k', 1, 60, 0);
    await cache.hit('k', 1, 60, 1); // refused, no block: remembered until 60
    const calls = store.calls.length;
    const blocked = await cache.hit('k', 1, 60, 2, 'sliding-log', 's', 1, 600);
    expect(store.calls).toHaveLength(calls + 1); // the store starts the block
    expect(wait(blocked, 1)).toBe(600);
    // The block refuses any cost and any blockSec, in process, with the block's wait, until it ends.
    for (const [cost, blockSec] of [
      [1, 600],
      [5, 0],
      [0, 0],
    ]) {
      const local = cache.hit('k', 1, 60, 300, 'sliding-log', 's', cost, blockSec) as HitResult;
      expect(wait(local, 1)).toBe(302);
    }
    expect(store.calls).toHaveLength(calls + 1);
    expect(await cache.hit('k', 1, 60, 602)).toMatchObject({ allowed: true });
  });

  it('hitAll: asked and learned from; answered in process once every key is known refused', async () => {
    const { cache, store, refusals } = storeOn();
    const hits = (a: number, b: number): StoreHit[] => [
      { key: 'a', limit: a, durationSec: 60, algorithm: 'sliding-log' },
      { key: 'b', limit: b, durationSec: 60, algorithm: 'gcra' },
    ];
    expect(await cache.hitAll(hits(5, 1), 0)).toMatchObject([{ allowed: true }, { allowed: true }]);
    // b refused: a counted nowhere; b's refusal remembered, but a is not known refused: the store is asked.
    expect(await cache.hitAll(hits(5, 1), 1)).toMatchObject([{ allowed: true, count: 1 }, { allowed: false }]);
    expect(refusals.size).toBe(1);
    await cache.hitAll(hits(1, 1), 2);
    expect(refusals.size).toBe(2);
    const calls = store.calls.length;
    const local = cache.hitAll(hits(1, 1), 3) as HitResult[];
    expect(local.map((r) => r.allowed)).toEqual([false, false]);
    expect(store.calls).toHaveLength(calls);
    expect(store.memory.hit('a', 5, 60, 3, 'sliding-log', 's', 0)).toMatchObject({ count: 1 });
  });

  it('refund, block and forget pass through and drop the key’s refusal; a refusal in flight across them is not kept', async () => {
    const { cache, store, refusals } = storeOn();
    for (const t of [0, 1, 2, 3]) await cache.hit('k', 3, 60, t);
    expect(refusals.size).toBe(1);
    await cache.refund('k', 1, spec, 4);
    expect(refusals.size).toBe(0);
    expect(await cache.hit('k', 3, 60, 4)).toMatchObject({ allowed: true, count: 3 });
    await cache.hit('k', 3, 60, 5);
    await cache.block('k', 100, spec, 5);
    expect(refusals.size).toBe(0);
    expect(wait(await cache.hit('k', 3, 60, 6), 3)).toBe(99);
    const inFlight = cache.hit('k', 3, 60, 7);
    await new Promise((resolve) => setImmediate(resolve)); // its batch is sent: Redis refuses it
    await cache.forget('k');
    expect(await inFlight).toMatchObject({ allowed: false });
    expect(refusals.size).toBe(0);
    expect(await cache.hit('k', 3, 60, 8)).toMatchObject({ allowed: true, count: 1 });
    expect(store.calls.filter((c) => !c.startsWith('hit '))).toEqual(['refund k 1', 'block k 100', 'forget k']);
  });
});
