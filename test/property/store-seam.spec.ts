/**
 * Costs, looks, blocks, hitAll, refund, block and forget on the memory and get/set stores against the literal
 * model of the seam (test/helpers/seam-model.ts), on random timelines of both algorithms; and every refusal by
 * count on the log waits, by DRF's formula, exactly as long as a brute-force search says.
 */
import fc from 'fast-check';
import { computeWait, MemoryThrottleStore, type HitResult, type ThrottleAlgorithm } from 'restflow-throttle';
import { CacheManagerStore } from '../../lib/stores/get-set/cache-manager.store';
import type { StoreHit, ThrottleStore } from '../../lib/stores/throttle-store';
import { SeamModel, type ModelResult } from '../helpers/seam-model';

const KEYS = ['a', 'b', 'c'] as const;
type Key = (typeof KEYS)[number];

const key = fc.constantFrom(...KEYS);
const limit = fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constant(0), fc.constant(100));
const cost = fc.oneof(fc.constant(1), fc.constant(1), fc.integer({ min: 0, max: 8 }));
const blockSec = fc.oneof(fc.constant(0), fc.constant(0), fc.constantFrom(0.5, 5, 100));
const step = fc.oneof(
  fc.constant(0),
  fc.constantFrom(0.001, 0.5, 1, 7, 20, 61),
  fc.double({ min: 0, max: 30, noNaN: true }),
);
const oneHit = fc.record({ key, limit, cost, blockSec });

const op = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('hit' as const), step, hit: oneHit }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('all' as const),
      step,
      hits: fc.array(oneHit, { minLength: 1, maxLength: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('refund' as const),
      step,
      key,
      limit,
      cost: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('block' as const), step, key, seconds: fc.constantFrom(1, 30, 200) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('forget' as const), step, key }) },
);

const timeline = fc.record({
  durations: fc.record({ a: fc.constantFrom(1, 10, 60), b: fc.constantFrom(1, 10, 60), c: fc.constantFrom(3600, 60) }),
  ops: fc.array(op, { minLength: 1, maxLength: 60 }),
});

/** A get/set cache answering at once, never expiring anything (the model forgets nothing either). */
function instantCache() {
  const values = new Map<string, unknown>();
  return {
    get: async <T>(k: string) => structuredClone(values.get(k)) as T | undefined,
    set: async (k: string, value: unknown) => void values.set(k, structuredClone(value)),
  };
}

function expectSame(actual: HitResult, expected: ModelResult, algorithm: ThrottleAlgorithm): void {
  const { why: _why, ...plain } = expected;
  if (algorithm === 'sliding-log') {
    expect(actual).toEqual(plain);
    return;
  }
  // GCRA: the same operations in the same order, so the same bits; compared to 1e-9 as in gcra-memory-store.spec.ts.
  expect([actual.allowed, actual.count, actual.now]).toEqual([plain.allowed, plain.count, plain.now]);
  if (plain.oldest === null) expect(actual.oldest).toBeNull();
  else expect(actual.oldest).toBeCloseTo(plain.oldest, 9);
}

/**
 * The first instant `need` fits in a log, found by trying every stamp's expiry: what a wait must say. A stamp
 * counts until `t + duration` (in real numbers; the store's `t <= now - duration` may differ by an ulp).
 */
function bruteForceFit(stamps: readonly number[], limit: number, duration: number, need: number): number {
  const candidates = stamps.map((t) => t + duration).sort((x, y) => x - y);
  return candidates.find((at) => stamps.filter((t) => t + duration > at).length + need <= limit) ?? Number.NaN;
}

describe.each<ThrottleAlgorithm>(['sliding-log', 'gcra'])('the seam on %s against its model', (algorithm) => {
  it('memory and get/set stores decide, report and keep state as the model does, on any timeline', async () => {
    await fc.assert(
      fc.asyncProperty(timeline, fc.constantFrom(1000, 1.7e9 + 0.123), async ({ durations, ops }, start) => {
        const model = new SeamModel(algorithm);
        const stores: ThrottleStore[] = [new MemoryThrottleStore(), new CacheManagerStore(instantCache())];
        const storeHit = (h: { key: Key; limit: number; cost: number; blockSec: number }): StoreHit => ({
          ...h,
          durationSec: durations[h.key],
          algorithm,
          scope: 's',
        });
        let now = start;
        for (const o of ops) {
          now += o.step;
          if (o.kind === 'hit') {
            const { key: k, limit: n, cost: c, blockSec: b } = o.hit;
            const expected = model.hit(k, n, durations[k], now, c, b);
            for (const store of stores)
              expectSame(await store.hit(k, n, durations[k], now, algorithm, 's', c, b), expected, algorithm);
            if (algorithm === 'sliding-log' && expected.why === 'count') {
              const fit = bruteForceFit(model.stampsOf(k, durations[k], now), n, durations[k], Math.max(c, 1));
              expect(computeWait({ ...expected, numRequests: n, duration: durations[k] })).toBeCloseTo(fit - now, 5);
            }
            if (expected.why === 'never')
              expect(computeWait({ ...expected, numRequests: n, duration: durations[k] })).toBeNull();
          } else if (o.kind === 'all') {
            const hits = o.hits.map(storeHit);
            const expected = model.hitAll(hits, now);
            for (const store of stores) {
              const actual = await store.hitAll!(hits, now);
              for (const [i, e] of expected.entries()) expectSame(actual[i], e, algorithm);
            }
          } else if (o.kind === 'refund') {
            const spec = { limit: o.limit, durationSec: durations[o.key], algorithm, scope: 's' };
            model.refund(o.key, o.cost, spec, now);
            for (const store of stores) await store.refund!(o.key, o.cost, spec, now);
          } else if (o.kind === 'block') {
            const spec = { limit: 1, durationSec: durations[o.key], algorithm, scope: 's' };
            model.block(o.key, o.seconds, now);
            for (const store of stores) await store.block!(o.key, o.seconds, spec, now);
          } else {
            model.forget(o.key);
            for (const store of stores) await store.forget!(o.key);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
