/**
 * GCRA (the generic cell rate algorithm), written as literally as possible:
 * the reference model every store's `'gcra'` algorithm (memory, get/set,
 * Redis) is property-tested against. It keeps one number per key, the
 * theoretical arrival time `tat`, and never forgets it (a store may forget a
 * key once `tat <= now`: `max(tat, now)` makes that the same state).
 *
 * - emission interval `T = duration / limit`, burst = `limit`;
 * - a request at `now` is allowed iff `max(tat, now) + T - now <= duration`
 *   (plus `slack`, below), and then `tat = max(tat, now) + T`; a denied
 *   request changes nothing;
 * - `slack = min(limit * 1e-6, T / 2)` seconds: at Unix times (about 2^31 s)
 *   a double is exact to 2.4e-7 s and `tat` gains one rounding per admitted
 *   request, so without it a burst of `limit` requests at one instant loses
 *   its last one about one time in three (7/min, say). `limit` microseconds
 *   cover a whole burst's rounding; half an interval caps it, so a burst
 *   never gains a request. Taken from the library (`gcraSlack()`), where it
 *   is written once; the burst properties (test/property/gcra-memory-store.spec.ts)
 *   check it on its own: exactly `limit` admitted at one instant, never one more;
 * - `limit = 0` denies everything, reported as the sliding log reports it
 *   (`count = 0`, `oldest = null`, so DRF's formula waits `duration`).
 *
 * The result has the store seam's shape (`HitResult`, see
 * `lib/stores/throttle-store.ts`), plus the true wait:
 * - denied: `count = limit`, `oldest = nextAllowedAt - duration`, where
 *   `nextAllowedAt = tat + T - duration` is the first instant the request
 *   would be allowed; DRF's `computeWait` then gives `nextAllowedAt - now`;
 * - allowed: `count = min(limit, ceil((tat - now - slack) / T))` slots in use (so
 *   `limit - count` more requests are allowed right now), and `oldest` such
 *   that `oldest + duration - now` is the time until one more slot frees:
 *   `oldest = tat - duration - (count - 1) * T`.
 *
 * Stores must compute these with the same operations in the same order, so
 * that decisions agree bit for bit on floating-point timelines; waits and
 * `oldest` may be compared to within 1e-9.
 */
import { gcraSlack } from '../../lib/stores/algorithms';

export interface GcraModelResult {
  readonly allowed: boolean;
  readonly now: number;
  readonly count: number;
  readonly oldest: number | null;
  /** Seconds until this request would have been allowed; `null` when allowed. */
  readonly wait: number | null;
}

export class GcraModel {
  /** Theoretical arrival time per key. */
  private readonly tatByKey = new Map<string, number>();

  hit(key: string, limit: number, duration: number, now: number): GcraModelResult {
    if (limit <= 0) return { allowed: false, now, count: 0, oldest: null, wait: duration };
    const interval = duration / limit;
    const slack = gcraSlack(limit, interval);
    const tat = Math.max(this.tatByKey.get(key) ?? now, now);
    if (tat + interval - now <= duration + slack) {
      const newTat = tat + interval;
      this.tatByKey.set(key, newTat);
      const count = Math.min(limit, Math.ceil((newTat - now - slack) / interval));
      return { allowed: true, now, count, oldest: newTat - duration - (count - 1) * interval, wait: null };
    }
    const nextAllowedAt = tat + interval - duration;
    return { allowed: false, now, count: limit, oldest: nextAllowedAt - duration, wait: nextAllowedAt - now };
  }

  /** The stored theoretical arrival time of a key (for tests that inspect state). */
  tatOf(key: string): number | undefined {
    return this.tatByKey.get(key);
  }
}
