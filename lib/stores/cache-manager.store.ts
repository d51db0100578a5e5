import type { ThrottleCache } from '../restflow-throttle.options';
import { withDeadline } from './deadline';
import { KeyedMutex } from './keyed-mutex';
import { monotonicSeconds, type HitResult, type ThrottleStore } from './throttle-store';

/**
 * Any cache-manager cache (memcached, a database, cache-manager 6/7 on Keyv...)
 * through its `get`/`set`, exactly as DRF does it: the value is the history
 * list, newest first. A per-key lock makes check-and-record atomic within this
 * process; several processes sharing such a cache can over-admit, which is
 * why Redis has its own store. The value is rewritten whole, so a decision
 * costs O(limit) here; the memory and Redis stores cost O(1).
 *
 * Each `get` and `set` has its own deadline; time spent waiting for the key's
 * lock is not the cache's fault, so a busy key never fails open. When a call
 * fails, the hits queued behind it fail at once instead of each waiting out
 * its own deadline on a dead cache.
 */
export class CacheManagerStore implements ThrottleStore {
  readonly ownClock = false;
  readonly boundsItsCalls = true;
  private readonly mutex = new KeyedMutex();
  /** Bumped by every failed call; a hit queued before the bump fails fast. */
  private failures = 0;

  constructor(
    private readonly cache: ThrottleCache,
    private readonly timeoutMs = Infinity,
  ) {}

  hit(key: string, limit: number, durationSec: number, now: number = monotonicSeconds()): Promise<HitResult> {
    const queuedAt = this.failures;
    return this.mutex.run(key, async () => {
      if (this.failures !== queuedAt) throw new Error('an earlier call to the cache failed');
      try {
        return await this.checkAndRecord(key, limit, durationSec, now);
      } catch (error) {
        this.failures++;
        throw error;
      }
    });
  }

  private async checkAndRecord(key: string, limit: number, durationSec: number, now: number): Promise<HitResult> {
    const stored = await withDeadline(this.cache.get<unknown>(key), this.timeoutMs);
    const history = Array.isArray(stored) ? stored.filter(isNumber) : [];
    const cutoff = now - durationSec;
    while (history.length > 0 && history[history.length - 1] <= cutoff) history.pop();
    if (history.length >= limit) {
      return { allowed: false, now, count: history.length, oldest: history.at(-1) ?? null };
    }
    history.unshift(now);
    await withDeadline(this.cache.set(key, history, Math.ceil(durationSec * 1000)), this.timeoutMs);
    return { allowed: true, now, count: history.length, oldest: history[history.length - 1] };
  }
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
