// Deadlines of calls to a remote cache, measured on the cache's time, never on the time this process was busy.

/**
 * Milliseconds this thread's event loop has spent idle, waiting in its poll
 * phase for I/O or timers, since it started. Idle time is a lower bound of
 * the time spent waiting for a reply: once a reply is readable the loop is
 * not idle again until it has read it. Time the process spent busy (a
 * handler, a GC pause, a request with thousands of GraphQL fields) is never
 * in it, so a wait measured this way measures the cache, not the process.
 */
export function loopIdleMs(): number {
  return performance.eventLoopUtilization().idle;
}

/**
 * The deadline of one call to a remote cache (a pipelined Redis batch, or a
 * get/set round on one key). It measures the cache, not this process: when
 * the timer fires, the check is made again from a `setImmediate`, that is
 * after the event loop's poll phase has read any reply already waiting in a
 * socket. A process that was busy for longer than the deadline (a CPU-heavy
 * handler, a GC pause) therefore never fails a call the cache had answered.
 *
 * One timer per call, whatever the number of hits it carries.
 */
export class CallDeadline {
  private timer: NodeJS.Timeout | undefined;
  private state: 'pending' | 'answered' | 'expired' = 'pending';

  /** Starts the clock now; `onExpired` runs once, unless {@link answered} came first. */
  constructor(
    ms: number,
    private readonly onExpired: () => void,
  ) {
    if (Number.isFinite(ms)) this.timer = setTimeout(this.fired, Math.max(0, ms));
  }

  /** `true` once the deadline passed with no answer: the call's hits were answered without the cache. */
  get expired(): boolean {
    return this.state === 'expired';
  }

  /**
   * The cache answered. `true` if in time (the caller may use the answer),
   * `false` if the deadline had already expired (the answer is late and
   * must be dropped).
   */
  answered(): boolean {
    if (this.state === 'expired') return false;
    this.state = 'answered';
    if (this.timer !== undefined) clearTimeout(this.timer);
    return true;
  }

  private readonly fired = (): void => {
    this.timer = undefined;
    // Replies read in this turn's poll phase settle (and call `answered`) before the check phase runs this.
    setImmediate(this.check);
  };

  private readonly check = (): void => {
    if (this.state !== 'pending') return;
    this.state = 'expired';
    this.onExpired();
  };
}
