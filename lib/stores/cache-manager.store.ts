import type { ThrottleCache } from '../restflow-throttle.options';
import { KeyedMutex } from './keyed-mutex';
import { monotonicSeconds, type HitResult, type ThrottleStore } from './throttle-store';

/**
 * Any cache-manager cache (memcached, a database, cache-manager 6/7 on Keyv...)
 * through its `get`/`set`, exactly as DRF does it: the value is the history
 * list, newest first. A per-key lock makes check-and-record atomic within this
 * process; several processes sharing such a cache can over-admit, which is
 * why Redis has its own store. The value is rewritten whole, so a decision
 * costs O(limit) here; the memory and Redis stores cost O(1).
 */
export class CacheManagerStore implements ThrottleStore {
  readonly ownClock = false;
  private readonly mutex = new KeyedMutex();

  constructor(private readonly cache: ThrottleCache) {}

  hit(key: string, limit: number, durationSec: number, now: number = monotonicSeconds()): Promise<HitResult> {
    return this.mutex.run(key, async () => {
      const stored = await this.cache.get<unknown>(key);
      const history = Array.isArray(stored) ? stored.filter(isNumber) : [];
      const cutoff = now - durationSec;
      while (history.length > 0 && history[history.length - 1] <= cutoff) history.pop();
      if (history.length >= limit) {
        return { allowed: false, now, count: history.length, oldest: history.at(-1) ?? null };
      }
      history.unshift(now);
      await this.cache.set(key, history, Math.ceil(durationSec * 1000));
      return { allowed: true, now, count: history.length, oldest: history[history.length - 1] };
    });
  }
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
