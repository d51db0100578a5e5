import { Injectable } from '@nestjs/common';

/**
 * Counts the requests in progress per key (the docs'
 * `count_in_flight_requests`). Check and increment are one synchronous step,
 * so two concurrent requests cannot both take the last slot. It is
 * per process; a cluster would keep the counter in Redis instead.
 */
@Injectable()
export class InFlightRequests {
  private readonly counts = new Map<string, number>();

  /** Requests of `key` in progress now. */
  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /**
   * Takes a slot when fewer than `limit` are taken. Returns the function that
   * gives it back (safe to call more than once), or `null` when all are taken.
   */
  tryAcquire(key: string, limit: number): (() => void) | null {
    const current = this.count(key);
    if (current >= limit) return null;
    this.counts.set(key, current + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.count(key) - 1;
      // Idle keys are dropped, so the map holds only clients with requests in progress.
      if (left > 0) this.counts.set(key, left);
      else this.counts.delete(key);
    };
  }
}
