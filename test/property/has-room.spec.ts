/**
 * The memory store evicts only keys a hit would be admitted on now, asking `slidingLogHasRoom()` and
 * `gcraHasRoom()`: each must answer exactly what its step would decide, on any history (clocks that step
 * back, logs written under other limits, as two throttles sharing a key write them).
 */
import fc from 'fast-check';
import {
  emptyLog,
  gcraHasRoom,
  gcraHit,
  slidingLogHasRoom,
  slidingLogHit,
  type SlidingLog,
} from '../../lib/stores/algorithms';

/** Hits at varying limits (a log longer than a limit) on a clock that may step back (stamps out of order). */
const hits = fc.array(
  fc.record({
    limit: fc.nat({ max: 6 }),
    duration: fc.integer({ min: 1, max: 10 }),
    step: fc.oneof(fc.constant(0), fc.integer({ min: -4, max: 4 }), fc.double({ min: 0, max: 12, noNaN: true })),
  }),
  { minLength: 1, maxLength: 60 },
);

describe('whether a hit now would be admitted, without deciding one', () => {
  it('slidingLogHasRoom() answers what slidingLogHit() decides', () => {
    fc.assert(
      fc.property(hits, (timeline) => {
        const log: SlidingLog = emptyLog();
        let now = 1000;
        for (const { limit, duration, step } of timeline) {
          now += step;
          const copy: SlidingLog = {
            stamps: [...log.stamps],
            head: log.head,
            count: log.count,
            blockedUntil: -Infinity,
          };
          const room = slidingLogHasRoom(log, limit, duration, now);
          expect(log).toEqual(copy);
          expect(room).toBe(slidingLogHit(copy, limit, duration, now).allowed);
          slidingLogHit(log, limit, duration, now);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('gcraHasRoom() answers what gcraHit() decides', () => {
    fc.assert(
      fc.property(hits, fc.constantFrom(1000, 1.7e9 + 0.123), (timeline, start) => {
        const state = { tat: -Infinity, blockedUntil: -Infinity };
        let now = start;
        for (const { limit, duration, step } of timeline) {
          now += step;
          const room = gcraHasRoom(state, limit, duration, now);
          const tat = state.tat;
          expect(room).toBe(gcraHit({ tat, blockedUntil: -Infinity }, limit, duration, now).allowed);
          expect(state.tat).toBe(tat);
          gcraHit(state, limit, duration, now);
        }
      }),
      { numRuns: 500 },
    );
  });
});
