/**
 * GCRA on the memory store against the reference model (test/helpers/gcra-model.ts)
 * on random timelines, and its constant memory per key whatever the limit.
 */
import fc from 'fast-check';
import { MemoryThrottleStore, computeWait } from 'restflow-throttle';
import { GcraModel } from '../helpers/gcra-model';

const timeline = fc.record({
  limit: fc.oneof(fc.nat({ max: 8 }), fc.constantFrom(100, 1000)),
  duration: fc.oneof(fc.integer({ min: 1, max: 120 }), fc.constantFrom(3600, 86400)),
  hits: fc.array(
    fc.record({
      key: fc.constantFrom('a', 'b', 'c'),
      step: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 30, noNaN: true }), fc.integer({ min: 0, max: 100 })),
    }),
    { minLength: 1, maxLength: 80 },
  ),
});

describe('GCRA on MemoryThrottleStore against the reference model', () => {
  it("same decisions, counts and oldest, and DRF's wait formula gives the model's exact wait, on any timeline", () => {
    fc.assert(
      fc.property(timeline, fc.constantFrom(1000, 1.7e9 + 0.123), ({ limit, duration, hits }, start) => {
        const store = new MemoryThrottleStore();
        const model = new GcraModel();
        let now = start;
        for (const { key, step } of hits) {
          now += step;
          const expected = model.hit(key, limit, duration, now);
          const actual = store.hit(key, limit, duration, now, 'gcra');
          expect(actual.allowed).toBe(expected.allowed);
          expect(actual.count).toBe(expected.count);
          expect(actual.now).toBe(now);
          if (expected.oldest === null) expect(actual.oldest).toBeNull();
          else expect(actual.oldest).toBeCloseTo(expected.oldest, 9);
          if (!actual.allowed) {
            const wait = computeWait({ ...actual, numRequests: limit, duration });
            expect(wait).not.toBeNull();
            expect(wait!).toBeCloseTo(expected.wait!, 9);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('a burst of exactly limit at a Unix time is admitted whole, and never one more', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.constantFrom(1, 60, 3600, 86400),
        fc.double({ min: 1.6e9, max: 2.1e9, noNaN: true }),
        (limit, duration, now) => {
          const store = new MemoryThrottleStore();
          // Counted, not asserted per hit: an expect() per hit made this the slowest unit test.
          let admitted = 0;
          while (admitted < limit && store.hit('k', limit, duration, now, 'gcra').allowed) admitted++;
          expect(admitted).toBe(limit);
          expect(store.hit('k', limit, duration, now, 'gcra').allowed).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('an evicted key comes back as a fresh one (more lenient than the model, never stricter)', () => {
    const store = new MemoryThrottleStore(1);
    expect(store.hit('a', 2, 60, 0, 'gcra')).toMatchObject({ allowed: true, count: 1 });
    expect(store.hit('b', 2, 60, 0, 'gcra').allowed).toBe(true); // evicts a, which had room left
    expect(store.hit('a', 2, 60, 1, 'gcra')).toMatchObject({ allowed: true, count: 1 });
  });

  it('a key at its limit is not evicted: the new key is refused instead, until the limit passes', () => {
    const store = new MemoryThrottleStore(1);
    expect(store.hit('a', 1, 60, 0, 'gcra').allowed).toBe(true);
    expect(store.hit('b', 1, 60, 0, 'gcra')).toEqual({ allowed: false, now: 0, count: 1, oldest: null });
    expect(store.hit('a', 1, 60, 1, 'gcra').allowed).toBe(false);
    expect(store.hit('b', 1, 60, 60, 'gcra').allowed).toBe(true); // a's slot freed at 60: a goes
    expect(store.hit('a', 1, 60, 60, 'gcra').allowed).toBe(false); // b holds the only place, at its limit
  });

  it("GCRA's bound under a flood: the burst first, and fewer than limit + w / T admissions in any window w", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 2, max: 20 }),
        fc.double({ min: 0.01, max: 3, noNaN: true }),
        (limit, duration, perInterval, windows) => {
          const store = new MemoryThrottleStore();
          const interval = duration / limit;
          const step = interval / perInterval;
          const admittedAt: number[] = [];
          for (let i = 0; i < limit * perInterval * 3; i++) {
            const now = i * step;
            if (store.hit('k', limit, duration, now, 'gcra').allowed) admittedAt.push(now);
          }
          // The whole burst first: the first `limit` hits are all admitted.
          expect(admittedAt.slice(0, limit)).toEqual(Array.from({ length: limit }, (_, i) => i * step));
          const w = windows * duration;
          for (const start of admittedAt) {
            const inWindow = admittedAt.filter((t) => t >= start && t < start + w).length;
            expect(inWindow).toBeLessThan(limit + w / interval + 1e-9);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

const gc = (globalThis as { gc?: () => void }).gc;

/** Heap bytes held by a store after `hitsPerKey` admitted hits on each of `keys`, strings excluded. */
function heapPerKey(keys: string[], limit: number, hitsPerKey: number, algorithm: 'gcra' | 'sliding-log'): number {
  if (gc === undefined) throw new Error('run the tests with node --expose-gc (npm test does)');
  gc();
  const before = process.memoryUsage().heapUsed;
  const store = new MemoryThrottleStore(keys.length);
  for (let round = 0; round < hitsPerKey; round++) {
    for (let i = 0; i < keys.length; i++) {
      if (!store.hit(keys[i], limit, 86400, 1000 + round + i * 1e-6, algorithm).allowed)
        throw new Error('a hit was denied');
    }
  }
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / keys.length;
  expect(store.size).toBe(keys.length);
  return bytes;
}

describe('GCRA memory per key', () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `throttle_anon_10.0.${i >> 8}.${i & 255}`);

  it('is constant whatever the limit and the hits counted, unlike the log', () => {
    // Heap readings are noisy by a few bytes a key: warm up, then the least of two readings.
    const measure = (limit: number, hits: number, algorithm: 'gcra' | 'sliding-log') =>
      Math.min(heapPerKey(keys, limit, hits, algorithm), heapPerKey(keys, limit, hits, algorithm));
    heapPerKey(keys, 10, 1, 'gcra');
    heapPerKey(keys, 10, 1, 'sliding-log');
    const gcraSmall = measure(10, 1, 'gcra');
    const gcraLarge = measure(100_000, 20, 'gcra');
    const logSmall = measure(10, 1, 'sliding-log');
    const logLarge = measure(100_000, 20, 'sliding-log');
    // The log's ring grows to 32 slots for 20 timestamps (about 250 bytes more); GCRA keeps one
    // number. The margin below is the heap reading's noise, not growth.
    expect(logLarge - logSmall).toBeGreaterThan(150);
    expect(gcraLarge - gcraSmall).toBeLessThan(40);
    // The entry (recency links, expiry, the rate an eviction checks the key against, `tat`, the end of a block)
    // and its Map slot: about 230 bytes, 16 of them the block's end (a boxed double) since blockDuration.
    expect(gcraLarge).toBeLessThan(250);
  });
});
