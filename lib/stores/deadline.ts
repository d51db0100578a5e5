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
 * How much longer than its length a deadline may last by the wall clock, once the cache has answered part of
 * the call, while the event loop was never idle long enough: a process busy all the time still gives up.
 */
export const BUSY_STRETCH_MAX = 10;

/**
 * The deadline of one call to a remote cache (a pipelined Redis batch, or a
 * get/set round on one key). It measures the cache, not this process: when
 * the timer fires, the check is made again from a `setImmediate`, that is
 * after the event loop's poll phase has read any reply already waiting in a
 * socket. A process that was busy for longer than the deadline (a CPU-heavy
 * handler, a GC pause) therefore never fails a call the cache had answered.
 *
 * A call the cache has answered in part, one that needs another round trip
 * (a script to load, a batch to send again with a new expiry), is timed
 * from then on in the event loop's idle time since the call began (see
 * {@link loopIdleMs}), as a queued batch is: the resend goes out from the
 * poll phase that read the first reply, which may be the one right before
 * the check of a timer that fell due while the process was busy, and no
 * reply to it can be there yet. A cache that answers nothing is still timed
 * by the wall clock, so a frozen one is answered on time however busy the
 * loop; one that answered in part, at most {@link BUSY_STRETCH_MAX} times
 * the length.
 *
 * One timer per call, whatever the number of hits it carries.
 */
export class CallDeadline {
  private timer: NodeJS.Timeout | undefined;
  private state: 'pending' | 'answered' | 'expired' = 'pending';
  private readonly idleAtStart: number;
  private readonly startedAt = performance.now();
  /** The cache answered part of the call: it is alive, and the rest is timed in idle time. */
  private alive = false;

  /** Starts the clock now; `onExpired` runs once, unless {@link answered} came first. */
  constructor(
    private readonly ms: number,
    private readonly onExpired: () => void,
    private readonly idleMs: () => number = loopIdleMs,
  ) {
    this.idleAtStart = idleMs();
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

  /**
   * The cache answered part of the call, in time, and the caller sends it more: time the rest in idle time.
   * Answers how long from now, in ms, this deadline cannot expire whatever happens: idle time grows no faster
   * than the wall clock, so not before the idle time left, nor before the wall-clock cap. A resend must carry
   * that as its own expiry, not the call's first one: after a busy stretch that one is already past, and the
   * cache would refuse, as late, a resend this deadline still waits for.
   */
  progressed(): number {
    this.alive = true;
    const idle = this.idleMs() - this.idleAtStart;
    const wall = performance.now() - this.startedAt;
    return Math.max(0, Math.min(this.ms - idle, this.ms * BUSY_STRETCH_MAX - wall));
  }

  private readonly fired = (): void => {
    this.timer = undefined;
    // Replies read in this turn's poll phase settle (and call `answered`) before the check phase runs this.
    setImmediate(this.check);
  };

  private readonly check = (): void => {
    if (this.state !== 'pending') return;
    if (this.alive) {
      const idle = this.idleMs() - this.idleAtStart;
      if (idle < this.ms && performance.now() - this.startedAt < this.ms * BUSY_STRETCH_MAX) {
        // The loop was busy for part of the wait: that part was this process', not the cache's.
        this.timer = setTimeout(this.fired, this.ms - idle);
        return;
      }
    }
    this.state = 'expired';
    this.onExpired();
  };
}
