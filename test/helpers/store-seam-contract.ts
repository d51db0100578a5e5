/**
 * The store seam's contract, asked of a store directly (no HTTP): costs, looks, blocks, `hitAll`, `refund`,
 * `block` and `forget`, as lib/stores/throttle-store.ts states them, for both algorithms. Every refusal is
 * checked through DRF's wait formula (`computeWait`), which is what the headers and `Retry-After` show.
 * Run by test/helpers/store-contract.ts for every cache of the shared suite (memory, get/set, Redis, Cluster).
 */
import { computeWait, type HitResult, type ThrottleAlgorithm, type ThrottleStore } from 'restflow-throttle';
import type { KeySpec, StoreHit } from '../../lib/stores/throttle-store';

/**
 * What a store says it does beyond DRF's hit. Each one claimed is held to its cases; a store must not
 * have an optional method it does not claim (the module would call it untested).
 */
export type StoreCapability = 'cost' | 'block' | 'hitAll' | 'refund' | 'adminBlock' | 'forget';
export const ALL_CAPABILITIES: readonly StoreCapability[] = [
  'cost',
  'block',
  'hitAll',
  'refund',
  'adminBlock',
  'forget',
];

/** The optional method behind a capability (`cost` and `block` are arguments of `hit`). */
const METHODS = { hitAll: 'hitAll', refund: 'refund', adminBlock: 'block', forget: 'forget' } as const;

/** Expected waits for a scenario, per algorithm, where they differ. */
type ByAlgorithm<T> = Record<ThrottleAlgorithm, T>;

let keys = 0;

/**
 * The seam cases for `getStore()`'s store (read when each case runs, so it may be made in a `beforeAll`), for the
 * capabilities it claims.
 */
export function describeSeamContract(getStore: () => ThrottleStore, capabilities: readonly StoreCapability[]): void {
  const has = (capability: StoreCapability) => capabilities.includes(capability);

  describe('store seam', () => {
    let store: ThrottleStore;
    let key: string;
    beforeEach(() => {
      store = getStore();
      // A hash tag: a case's keys (`${key}:a`, `${key}:b`) share a Redis Cluster slot, as hitAll's must there.
      key = `seam:{${process.pid}:${Date.now()}:${++keys}}`;
    });
    /** A fresh time per case, so a store keeping keys across cases cannot mix them. */
    const T = 2_000_000;

    it('has exactly the optional methods it claims', () => {
      for (const [capability, method] of Object.entries(METHODS)) {
        expect([method, typeof store[method]]).toEqual([
          method,
          has(capability as StoreCapability) ? 'function' : 'undefined',
        ]);
      }
    });

    describe.each<ThrottleAlgorithm>(['sliding-log', 'gcra'])('%s', (algorithm) => {
      const spec = (limit: number, durationSec = 60): KeySpec => ({ limit, durationSec, algorithm });
      const hit = async (now: number, limit: number, cost?: number, blockSec?: number, k = key) =>
        store.hit(k, limit, 60, now, algorithm, 'seam', cost, blockSec);
      const allowed = async (now: number, limit: number, n: number, cost?: number) => {
        const out: boolean[] = [];
        for (let i = 0; i < n; i++) out.push((await hit(now, limit, cost)).allowed);
        return out;
      };
      /** A refusal, through DRF's formula: its wait, and the count it reports. */
      const refusal = (result: HitResult, limit: number) => ({
        allowed: result.allowed,
        count: result.count,
        wait: round(computeWait({ ...result, numRequests: limit, duration: 60 })),
      });
      const by = <V>(values: ByAlgorithm<V>): V => values[algorithm];

      if (has('cost')) {
        it('a hit of cost c counts as c requests', async () => {
          expect(await hit(T, 5, 3)).toMatchObject({ allowed: true, count: 3 });
          expect(await hit(T, 5, 2)).toMatchObject({ allowed: true, count: 5 });
          expect(refusal(await hit(T, 5), 5)).toEqual({
            allowed: false,
            count: 5,
            wait: by({ 'sliding-log': 60, gcra: 12 }),
          });
        });

        it('a cost that does not fit records nothing and reports when it will', async () => {
          await hit(T, 5, 2);
          await hit(T + 10, 5, 2);
          // Log: room for 3 once the second stamp of T leaves (T + 60); GCRA: tat T + 48, + 36 - 60 = T + 24.
          expect(refusal(await hit(T + 20, 5, 3), 5)).toEqual({
            allowed: false,
            count: 5,
            wait: by({ 'sliding-log': 40, gcra: 4 }),
          });
          expect((await hit(T + 20, 5, 1)).allowed).toBe(true); // nothing of the refused cost was counted
          if (algorithm === 'sliding-log') {
            // T + 10, T + 10, T + 20 left: room for 3 once T + 10 leaves.
            expect(refusal(await hit(T + 60, 5, 3), 5)).toEqual({ allowed: false, count: 5, wait: 10 });
            expect((await hit(T + 70, 5, 3)).allowed).toBe(true);
          } else {
            // tat T + 60 after the cost 1: 3 more fit at T + 60 + 36 - 60.
            expect(refusal(await hit(T + 35, 5, 3), 5)).toEqual({ allowed: false, count: 5, wait: 1 });
            expect((await hit(T + 36, 5, 3)).allowed).toBe(true);
          }
        });

        it('a cost above the limit is refused, with no wait, and counts nothing', async () => {
          const refused = await hit(T, 3, 4);
          expect(refused.allowed).toBe(false);
          expect(refused.count).toBeGreaterThan(3);
          expect(computeWait({ ...refused, numRequests: 3, duration: 60 })).toBeNull();
          expect(await allowed(T, 3, 1, 3)).toEqual([true]);
        });

        it('cost 0 is a look: decided as a hit of 1, recording nothing', async () => {
          expect(await hit(T, 3, 0)).toEqual({ allowed: true, now: T, count: 0, oldest: null });
          expect(await allowed(T, 3, 2)).toEqual([true, true]);
          expect(await hit(T, 3, 0)).toMatchObject({ allowed: true, count: 2 });
          expect(await hit(T, 3, 0)).toMatchObject({ allowed: true, count: 2 });
          expect(await allowed(T, 3, 1)).toEqual([true]);
          expect(refusal(await hit(T + 1, 3, 0), 3)).toEqual({
            allowed: false,
            count: 3,
            wait: by({ 'sliding-log': 59, gcra: 19 }),
          });
        });
      }

      if (has('block')) {
        it('a refusal with blockSec blocks until now + blockSec; hits meanwhile record nothing, extend nothing', async () => {
          expect(await allowed(T, 3, 3, 1)).toEqual([true, true, true]);
          expect(refusal(await hit(T + 1, 3, 1, 300), 3)).toEqual({ allowed: false, count: 3, wait: 300 });
          expect(refusal(await hit(T + 100, 3, 1, 300), 3)).toEqual({ allowed: false, count: 3, wait: 201 });
          expect(refusal(await hit(T + 101, 3, 0), 3)).toEqual({ allowed: false, count: 3, wait: 200 });
          expect(await allowed(T + 301, 3, 4)).toEqual([true, true, true, false]);
        });

        it('a block shorter than the wait lasts until the hit would fit', async () => {
          await allowed(T, 3, 3);
          const until = by({ 'sliding-log': 60, gcra: 20 });
          expect(refusal(await hit(T + 1, 3, 1, 5), 3)).toEqual({ allowed: false, count: 3, wait: until - 1 });
          expect(refusal(await hit(T + 10, 3, 1), 3)).toEqual({ allowed: false, count: 3, wait: until - 10 });
          expect((await hit(T + until, 3)).allowed).toBe(true);
        });

        if (has('cost')) {
          it('a cost refusal with blockSec blocks until that cost would fit', async () => {
            await hit(T, 5, 3);
            // Room for 3 more: log at T + 60 (the first stamp of T leaves), GCRA at tat T + 36 + 36 - 60 = T + 12.
            const free = by({ 'sliding-log': 60, gcra: 12 });
            expect(refusal(await hit(T + 1, 5, 3, 2), 5)).toEqual({ allowed: false, count: 5, wait: free - 1 });
            expect(refusal(await hit(T + 2, 5, 1), 5)).toEqual({ allowed: false, count: 5, wait: free - 2 });
          });
        }
      }

      if (has('hitAll')) {
        const all = (now: number, ...hits: Array<Partial<StoreHit> & { key: string; limit: number }>) =>
          Promise.resolve(
            store.hitAll!(
              hits.map((h) => ({ durationSec: 60, algorithm, scope: 'seam', ...h })),
              now,
            ),
          );

        it('hitAll records every hit when all are admitted, none when one is refused', async () => {
          const a = `${key}:a`;
          const b = `${key}:b`;
          expect((await all(T, { key: a, limit: 3 }, { key: b, limit: 2 })).map((r) => r.allowed)).toEqual([
            true,
            true,
          ]);
          const [first, second] = await all(T, { key: a, limit: 3 }, { key: b, limit: 2 });
          expect([first.count, second.count]).toEqual([2, 2]);
          const [admitted, refused] = await all(T, { key: a, limit: 3 }, { key: b, limit: 2 });
          expect(admitted).toMatchObject({ allowed: true, count: 2 }); // its standing: not counted
          expect(refusal(refused, 2)).toEqual({ allowed: false, count: 2, wait: by({ 'sliding-log': 60, gcra: 30 }) });
          expect(await hit(T, 3, 1, 0, a)).toMatchObject({ allowed: true, count: 3 });
        });

        it('hitAll on one key twice: the second sees the first, and a refusal undoes both', async () => {
          const twice = await all(T, { key, limit: 3, cost: 2 }, { key, limit: 3, cost: 2 });
          expect(twice.map((r) => r.allowed)).toEqual([true, false]);
          expect(await allowed(T, 3, 1, 3)).toEqual([true]);
        });

        it('a refusal in hitAll starts its block; the admitted hits stay unrecorded', async () => {
          const a = `${key}:a`;
          const b = `${key}:b`;
          expect((await hit(T, 1, 1, 0, b)).allowed).toBe(true);
          const [admitted, refused] = await all(T + 1, { key: a, limit: 2 }, { key: b, limit: 1, blockSec: 100 });
          expect(admitted).toMatchObject({ allowed: true, count: 0 });
          expect(refusal(refused, 1)).toEqual({ allowed: false, count: 1, wait: 100 });
          expect([(await hit(T + 2, 2, 1, 0, a)).allowed, (await hit(T + 2, 2, 1, 0, a)).allowed]).toEqual([
            true,
            true,
          ]);
          expect(refusal(await hit(T + 90, 1, 1, 0, b), 1)).toEqual({ allowed: false, count: 1, wait: 11 });
        });
      }

      if (has('refund')) {
        it('refund gives back the newest hits, never below empty', async () => {
          expect(await allowed(T, 3, 3)).toEqual([true, true, true]);
          await store.refund!(key, 1, spec(3), T);
          expect(await allowed(T, 3, 2)).toEqual([true, false]);
          await store.refund!(key, 10, spec(3), T + 1);
          expect(await allowed(T + 1, 3, 4)).toEqual([true, true, true, false]);
        });

        if (algorithm === 'sliding-log') {
          it('refund takes the newest stamps: the oldest still sets the wait', async () => {
            for (const at of [T, T + 10, T + 20]) await hit(at, 3);
            await store.refund!(key, 1, spec(3), T + 20);
            expect((await hit(T + 20, 3)).allowed).toBe(true);
            expect(refusal(await hit(T + 21, 3), 3)).toEqual({ allowed: false, count: 3, wait: 39 });
          });
        }

        if (has('adminBlock')) {
          it('a refunded key that is blocked stays blocked', async () => {
            await hit(T, 3);
            await store.block!(key, 100, spec(3), T);
            await store.refund!(key, 1, spec(3), T + 1);
            expect(refusal(await hit(T + 1, 3), 3)).toEqual({ allowed: false, count: 3, wait: 99 });
          });
        }
      }

      if (has('adminBlock')) {
        it('block refuses every hit until it ends, keeps a longer block, and counts nothing meanwhile', async () => {
          await hit(T, 3);
          await store.block!(key, 100, spec(3), T);
          expect(refusal(await hit(T + 10, 3), 3)).toEqual({ allowed: false, count: 3, wait: 90 });
          await store.block!(key, 30, spec(3), T + 20);
          expect(refusal(await hit(T + 50, 3), 3)).toEqual({ allowed: false, count: 3, wait: 50 });
          await store.block!(key, 100, spec(3), T + 60);
          expect(refusal(await hit(T + 61, 3, 0), 3)).toEqual({ allowed: false, count: 3, wait: 99 });
          expect(await allowed(T + 160, 3, 4)).toEqual([true, true, true, false]);
        });

        it('block on a key never hit', async () => {
          await store.block!(key, 10, spec(3), T);
          expect(refusal(await hit(T + 5, 3), 3)).toEqual({ allowed: false, count: 3, wait: 5 });
          expect((await hit(T + 10, 3)).allowed).toBe(true);
        });
      }

      if (has('forget')) {
        it('forget drops the count', async () => {
          await allowed(T, 3, 3);
          await store.forget!(key);
          expect(await allowed(T, 3, 4)).toEqual([true, true, true, false]);
        });

        if (has('adminBlock')) {
          it('forget drops a block', async () => {
            await store.block!(key, 100, spec(3), T);
            await store.forget!(key);
            expect((await hit(T + 1, 3)).allowed).toBe(true);
          });
        }
      }
    });
  });
}

/** Waits to the microsecond: GCRA's are sums of intervals. */
function round(wait: number | null): number | null {
  return wait === null ? null : Math.round(wait * 1e6) / 1e6;
}
