// The Redis server's clock as this process can bound it: when a batch sent now must no longer be applied.
import { monotonicSeconds } from '../throttle-store';

/** Seconds each half of the window of samples lasts: a server clock stepped back is followed within two. */
const WINDOW_SECONDS = 10;

/**
 * The offset of a server's clock from this process's {@link monotonicSeconds}, learned from the server time each
 * script reply carries. A sample (the time the script ran, minus the time its reply was read) is never above the
 * true offset, and is below it by however long the reply waited to be read: a process busy for a second when a
 * reply arrives learns an offset a second low. Taken as it is, that sample would date the next batch's expiry a
 * second early, Redis would refuse the batch as late, and a refusal read late again would turn into an outage of
 * a server that answered every time. So the offset is the highest sample of the last two 10-second windows that
 * had replies: the tightest lower bound, which a late read never lowers. A server clock stepped forward is followed
 * at its next reply; one stepped back, once two windows of replies have passed (20 s under steady traffic),
 * meanwhile expiries are late by the step (a batch may then be applied up to that much after the client stopped
 * waiting for it).
 */
export class ServerClock {
  /** The highest sample of the current window, and of the one before it; `-Infinity` for none. */
  private current = Number.NEGATIVE_INFINITY;
  private previous = Number.NEGATIVE_INFINITY;
  /** {@link monotonicSeconds} when the current window started. */
  private windowStart = Number.NEGATIVE_INFINITY;

  constructor(private readonly clock: () => number = monotonicSeconds) {}

  /** Learns from a reply read now that the server's clock read `serverSeconds` when its script ran. */
  learn(serverSeconds: number): void {
    const now = this.clock();
    if (now - this.windowStart >= WINDOW_SECONDS) {
      // A window without samples (an idle store) keeps the one before: the offset is never forgotten.
      if (this.current !== Number.NEGATIVE_INFINITY) this.previous = this.current;
      this.current = Number.NEGATIVE_INFINITY;
      this.windowStart = now;
    }
    this.current = Math.max(this.current, serverSeconds - now);
  }

  /**
   * The server time, as sent to the script, past which a batch sent at `sentAt` ({@link monotonicSeconds}) with
   * `leftMs` of its deadline must not be applied. Before any reply, this process's clock stands in.
   */
  expiry(sentAt: number, leftMs: number): string {
    const offset = Math.max(this.current, this.previous);
    return String(sentAt + leftMs / 1000 + (offset === Number.NEGATIVE_INFINITY ? 0 : offset));
  }
}
