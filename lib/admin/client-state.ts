/** One client's state in one throttle's bucket, as `ThrottleAdmin` reports it, from a store's answer to a look. */
import type { HitResult, ThrottleAlgorithm } from '../stores/throttle-store';

/** Who a state is about: the throttle, its bucket and rate. */
export interface StateSubject {
  /** The throttle's class. */
  readonly throttle: string;
  readonly scope: string | undefined;
  /** The routes whose requests count in this bucket (`ArticlesController.list`). */
  readonly routes: readonly string[];
  /** The bucket's key in the store: it holds the client's ident (a user id or an address). */
  readonly key: string;
  /** The rate the client is held to: `limit` requests per `durationSec`. */
  readonly limit: number;
  readonly durationSec: number;
  readonly algorithm: ThrottleAlgorithm;
}

/**
 * What a throttle holds for one client, read without counting anything.
 * Times are in seconds on the store's clock (`now` says where it stands):
 * the module's `clock` when given, else the server's on Redis, else this
 * process's (wall time, in seconds since 1970).
 */
export interface ThrottleClientState extends StateSubject {
  /** The store's clock when it answered. */
  readonly now: number;
  /** Requests counted in the window. While the client is refused (blocked, or its window full) this is `limit`. */
  readonly used: number;
  /** Requests the client may still make now: `limit - used`, 0 while it is refused. */
  readonly remaining: number;
  /**
   * When the oldest request counted leaves the window, so one more fits (the
   * IETF `RateLimit` header's `t`, as a time); `null` when nothing is counted.
   * While the client is refused, when it is admitted again.
   */
  readonly resetAt: number | null;
  /**
   * While every request of the client is refused, until when: the end of a
   * block (the admin's, or a `blockDuration`), or of a full window (a store
   * reports both alike). `null` when a request would be admitted now.
   */
  readonly blockedUntil: number | null;
  /** The `Retry-After` a request of the client gets now (whole seconds); `null` when it would be admitted. */
  readonly retryAfter: number | null;
}

/**
 * The state a look (a hit of cost 0, which records nothing) reports. A
 * refusal of either algorithm has `count = limit` and `oldest` such that
 * `oldest + duration` is when a request is admitted again, so one rule
 * serves the sliding log and GCRA, blocks and full windows alike.
 */
export function clientState(subject: StateSubject, result: HitResult): ThrottleClientState {
  const { limit, durationSec } = subject;
  const { now, count, oldest, allowed } = result;
  const used = allowed ? Math.min(count, limit) : limit;
  // A refusal with nothing counted (a limit of 0) ends when a whole window has passed, as DRF's wait says.
  const resetAt = oldest === null ? (allowed ? null : now + durationSec) : oldest + durationSec;
  const blockedUntil = allowed ? null : resetAt;
  const retryAfter = blockedUntil === null ? null : Math.max(0, Math.ceil(blockedUntil - now));
  return { ...subject, now, used, remaining: limit - used, resetAt, blockedUntil, retryAfter };
}
