import { Logger } from '@nestjs/common';
import { CacheUnavailableException } from '../exceptions/cache-unavailable.exception';
import type { CacheErrorPolicy } from '../restflow-throttle.options';
import { withDeadline } from './deadline';
import type { HitResult, ThrottleStore } from './throttle-store';

/** A success ends an outage only after this long without a fault, so a flapping cache is one outage. */
const RECOVERY_QUIET_MS = 1000;

/**
 * Puts a deadline and a failure policy around a remote store. A call that
 * throws or outlasts `timeoutMs` is a fault: the request is let through
 * (`'allow'`) or refused with 503 (`'deny'`), never a 500, and never waits on
 * a dead cache past the deadline. One warning when an outage starts, one when
 * the cache answers again; nothing to restart. A cache answering some calls
 * and not others (at its latency limit, one dead Cluster master) stays one
 * outage until it has gone a second without a fault, and a call that started
 * during an ended outage and fails late does not start a new one.
 */
export class FaultTolerantStore implements ThrottleStore {
  private down = false;
  /** `performance.now()` of the last fault, and of the end of the last outage. */
  private lastFaultAt = -Infinity;
  private recoveredAt = -Infinity;

  constructor(
    private readonly inner: ThrottleStore,
    private readonly options: { timeoutMs: number; policy: CacheErrorPolicy; name: string; logger?: Logger },
  ) {}

  get ownClock(): boolean {
    return this.inner.ownClock;
  }

  /** Whether an outage is in progress (from its first fault until it is over). */
  get isDown(): boolean {
    return this.down;
  }

  async hit(key: string, limit: number, durationSec: number, now: number | undefined): Promise<HitResult> {
    const startedAt = performance.now();
    try {
      const pending = Promise.resolve().then(() => this.inner.hit(key, limit, durationSec, now));
      // A store that queues work per key bounds each of its calls itself, so waiting in its queue is not a fault.
      const result = await (this.inner.boundsItsCalls === true ? pending : withDeadline(pending, this.options.timeoutMs));
      if (this.down && performance.now() - this.lastFaultAt >= RECOVERY_QUIET_MS) this.recovered();
      return result;
    } catch (error) {
      return this.fault(error, now, startedAt);
    }
  }

  private fault(error: unknown, now: number | undefined, startedAt: number): HitResult {
    this.lastFaultAt = performance.now();
    if (!this.down && startedAt > this.recoveredAt) {
      this.down = true;
      const reason = error instanceof Error ? error.message : String(error);
      const outcome = this.options.policy === 'allow' ? 'letting requests through' : 'answering 503';
      this.logger.warn(`Throttle cache '${this.options.name}' is unavailable (${reason}); ${outcome} until it recovers.`);
    }
    if (this.options.policy === 'deny') throw new CacheUnavailableException();
    return { allowed: true, now: now ?? Date.now() / 1000, count: 0, oldest: null };
  }

  private recovered(): void {
    this.down = false;
    this.recoveredAt = performance.now();
    this.logger.warn(`Throttle cache '${this.options.name}' is available again; throttling resumed.`);
  }

  private get logger(): Logger {
    return this.options.logger ?? defaultLogger;
  }
}

const defaultLogger = new Logger('RestflowThrottle');
