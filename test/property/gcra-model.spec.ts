import fc from 'fast-check';
import { computeWait } from 'restflow-throttle';
import { GcraModel } from '../helpers/gcra-model';

/** The reference model against timelines computed by hand, so the model itself is checked. */
describe('GcraModel (the reference)', () => {
  it('2 per 10 s: a burst of 2, then one every 5 s, waits exact', () => {
    const model = new GcraModel(); // T = 5
    expect(model.hit('k', 2, 10, 0)).toEqual({ allowed: true, now: 0, count: 1, oldest: -5, wait: null });
    expect(model.hit('k', 2, 10, 0)).toEqual({ allowed: true, now: 0, count: 2, oldest: -5, wait: null });
    const denied = model.hit('k', 2, 10, 1); // tat 10: 10 + 5 - 1 = 14 > 10
    expect(denied).toEqual({ allowed: false, now: 1, count: 2, oldest: -5, wait: 4 });
    expect(computeWait({ ...denied, numRequests: 2, duration: 10 })).toBe(4);
    expect(model.hit('k', 2, 10, 5)).toEqual({ allowed: true, now: 5, count: 2, oldest: 0, wait: null }); // tat 15
    expect(model.hit('k', 2, 10, 9.5).allowed).toBe(false); // 15 + 5 - 9.5 = 10.5
    expect(model.hit('k', 2, 10, 10)).toMatchObject({ allowed: true, count: 2 }); // tat 20
    // Idle long enough and the full burst is back.
    expect(model.hit('k', 2, 10, 100)).toMatchObject({ allowed: true, count: 1 });
    expect(model.hit('k', 2, 10, 100)).toMatchObject({ allowed: true, count: 2 });
  });

  it('a denied request changes nothing; keys are independent', () => {
    const model = new GcraModel();
    model.hit('a', 1, 60, 0);
    for (let t = 1; t < 60; t += 7) expect(model.hit('a', 1, 60, t).allowed).toBe(false);
    expect(model.tatOf('a')).toBe(60);
    expect(model.hit('b', 1, 60, 1).allowed).toBe(true);
    expect(model.hit('a', 1, 60, 60).allowed).toBe(true);
  });

  it('limit 0 denies everything and waits the whole duration, as the log does', () => {
    const model = new GcraModel();
    const denied = model.hit('k', 0, 60, 1);
    expect(denied).toEqual({ allowed: false, now: 1, count: 0, oldest: null, wait: 60 });
    expect(computeWait({ ...denied, numRequests: 0, duration: 60 })).toBe(60);
  });

  it('allowed: limit - count is what is left right now, oldest + duration - now is when one more frees', () => {
    const model = new GcraModel(); // 4 per 8 s, T = 2
    model.hit('k', 4, 8, 0);
    model.hit('k', 4, 8, 0); // tat 4
    const third = model.hit('k', 4, 8, 1); // tat 6 at t=1: 5 s in use
    expect(third).toMatchObject({ allowed: true, count: 3 });
    expect(third.oldest! + 8 - 1).toBe(1); // at t=2, 4 s in use: 2 slots
    expect(model.hit('k', 4, 8, 1)).toMatchObject({ allowed: true, count: 4 });
    expect(model.hit('k', 4, 8, 1).allowed).toBe(false);
  });

  it('a burst of exactly limit at one Unix-time instant is admitted whole, and never one more', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.constantFrom(1, 60, 300, 3600, 86400),
        fc.double({ min: 1.6e9, max: 2.1e9, noNaN: true }),
        (limit, duration, now) => {
          const model = new GcraModel();
          // Counted, not asserted per hit: an expect() per hit made this the slowest unit test.
          let admitted = 0;
          while (admitted < limit && model.hit('k', limit, duration, now).allowed) admitted++;
          expect(admitted).toBe(limit);
          expect(model.hit('k', limit, duration, now).allowed).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});
