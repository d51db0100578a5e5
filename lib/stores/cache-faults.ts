/**
 * What a remote cache's faults do: the deadline, the `onCacheError` policy, and one warning per outage and
 * recovery.
 */
import { Logger } from '@nestjs/common';
import { CacheUnavailableException } from '../exceptions/cache-unavailable.exception';
import type { CacheErrorPolicy } from '../module/options';
import { CallDeadline } from './deadline';
import { LocalFallback, type UndecidedHit } from './local-fallback';
import { monotonicSeconds, type HitResult } from './throttle-store';

/** A success ends an outage only after this long without a fault, so a flapping cache is one outage. */
const RECOVERY_QUIET_MS = 1000;
/** While a call hangs past its deadline, at most one new call (a probe) per this many ms. */
const MIN_PROBE_INTERVAL_MS = 1000;

/** How a remote store behaves when its cache fails: the module's `onCacheError` and `cacheTimeoutMs`. */
export interface CacheFaultOptions {
  /** The cache's name in log lines (`default`, or its alias). */
  readonly name: string;
  readonly policy: CacheErrorPolicy;
  /** Policy `'local'`: the in-process limiter hits get while the cache is out. Default: one for 1 process. */
  readonly local?: LocalFallback;
  /** A call (batch, or get/set round) not answered within this many ms is a fault. */
  readonly timeoutMs: number;
  readonly logger?: Pick<Logger, 'warn'>;
  /** Milliseconds for the quiet second and the probe interval; default `performance.now` (tests move it by hand). */
  readonly clock?: () => number;
  /**
   * The Redis Cluster master this state is for (`host:port`), named in the
   * warnings and told to `onOutage`; absent for a single server or a get/set
   * cache, whose state is the whole cache's.
   */
  readonly node?: string;
  /**
   * Told when an outage starts (`'down'`, with its reason) and ends (`'up'`), with each warning: the module's events.
   * `node` is the Cluster master the outage is about, if it is about one.
   */
  readonly onOutage?: (state: 'down' | 'up', reason?: string, node?: string) => void;
}

/** The two ends of a hit's promise. */
export interface HitCallbacks {
  resolve(result: HitResult): void;
  reject(error: unknown): void;
}

/**
 * Everything a remote store (Redis, get/set) does about faults, in one
 * place: the deadline of each call, the answer given without the cache
 * (`'allow'`: admitted; `'deny'`: {@link CacheUnavailableException}, a 503;
 * `'local'`: decided by this process's {@link LocalFallback}),
 * the outage state with one warning when it starts and one when it ends,
 * and the rule that keeps work for a hung cache bounded.
 *
 * - A call that throws, or whose deadline passes unanswered, is a fault.
 * - While some call hangs (its deadline passed, the cache has not answered
 *   it yet), new hits are answered at once without the cache, except one
 *   probe call per second: requests never queue behind a dead cache, and the
 *   client library holds at most one call per second of outage. A probe
 *   answered in time ends this, even if the hung calls never come back.
 * - An outage ends at the first call answered in time after a quiet second
 *   without faults; a call started before the last outage ended that fails
 *   late does not start a new one.
 *
 * On a Redis Cluster, the store keeps one of these per master
 * ({@link forNode}): a master that hangs or dies has the outage, the probe
 * rule and the warnings of its own, and the others keep deciding.
 */
export class CacheFaults {
  readonly timeoutMs: number;
  private down = false;
  /** {@link now} at the last fault, at the end of the last outage, at the last probe. */
  private lastFaultAt = -Infinity;
  private recoveredAt = -Infinity;
  private probedAt = -Infinity;
  /** Calls whose deadline passed and that the cache has not answered (or failed) yet. */
  private hanging = 0;
  /** Policy `'local'`'s limiter, shared by a Cluster's masters: only a sick master's keys ever reach it. */
  private readonly local: LocalFallback | undefined;

  constructor(private readonly options: CacheFaultOptions) {
    this.timeoutMs = options.timeoutMs;
    this.local = options.policy === 'local' ? (options.local ?? new LocalFallback()) : undefined;
  }

  /** A state of its own for one Cluster master (`host:port`), with the same policy, deadline and listeners. */
  forNode(node: string): CacheFaults {
    return new CacheFaults({ ...this.options, node, local: this.local });
  }

  /** The Cluster master this state is for, if it is for one. */
  get node(): string | undefined {
    return this.options.node;
  }

  /** The fault clock's reading, in ms: what a store passes as a call's `startedAt`. */
  now(): number {
    return this.options.clock === undefined ? performance.now() : this.options.clock();
  }

  /** Whether an outage is in progress (from its first fault until it is over). */
  get isDown(): boolean {
    return this.down;
  }

  /** Calls past their deadline that the cache still holds. */
  get hangingCalls(): number {
    return this.hanging;
  }

  /** `false` while the cache hangs: answer {@link withoutCache} instead of calling it (but for one probe a second). */
  mayCall(): boolean {
    if (this.hanging === 0) return true;
    const now = this.now();
    if (now - this.probedAt < Math.max(this.timeoutMs, MIN_PROBE_INTERVAL_MS)) return false;
    this.probedAt = now;
    return true;
  }

  /**
   * The deadline of one call, started now, `ms` long (default: the
   * timeout). `onExpired` answers the call's hits; the store then reports
   * the late answer, if one ever comes, with {@link lateAnswer}.
   */
  deadline(onExpired: () => void, ms: number = this.timeoutMs): CallDeadline {
    const startedAt = this.now();
    return new CallDeadline(ms, () => {
      this.hanging++;
      this.probedAt = this.now();
      this.failed(new Error(`no answer within ${this.timeoutMs} ms`), startedAt);
      onExpired();
    });
  }

  /** A call whose deadline had expired was answered (or failed) at last: it no longer hangs. */
  lateAnswer(): void {
    if (this.hanging > 0) this.hanging--;
  }

  /**
   * A call was answered in time: the cache answers again, so calls it still
   * holds (or lost for good) no longer hold new ones back; and an outage
   * ends after a quiet second.
   */
  succeeded(): void {
    this.hanging = 0;
    if (this.down && this.now() - this.lastFaultAt >= RECOVERY_QUIET_MS) {
      this.down = false;
      this.recoveredAt = this.now();
      const resumed = this.local === undefined ? 'throttling resumed' : 'limits are shared again';
      this.logger.warn(`Throttle cache ${this.subject} is available again; ${resumed}.`);
      this.tell('up');
    }
  }

  /**
   * This Cluster master serves no slot any more (its replica was promoted,
   * or its slots moved): its keys are another master's now, so an outage of
   * it is over. Said once, as the end of the outage, if there was one.
   */
  retired(): void {
    this.hanging = 0;
    this.recoveredAt = this.now();
    if (!this.down) return;
    this.down = false;
    this.logger.warn(
      `Throttle cache ${this.subject} serves no slot any more (failed over or resharded); ` +
        'its keys are decided by the masters that took them over.',
    );
    this.tell('up');
  }

  /** A call started at `startedAt` ({@link now}) failed: starts an outage, with its one warning. */
  failed(error: unknown, startedAt: number = this.now()): void {
    this.lastFaultAt = this.now();
    if (this.down || startedAt <= this.recoveredAt) return;
    this.down = true;
    const reason = error instanceof Error ? error.message : String(error);
    const outcome = this.outcome;
    const whose = this.options.node === undefined ? '' : ' for its keys';
    this.logger.warn(
      `Throttle cache ${this.subject} is unavailable (${reason}); ${outcome}${whose} until it recovers.`,
    );
    this.tell('down', reason);
  }

  /** What requests get during an outage, as the warning says it. */
  private get outcome(): string {
    if (this.local !== undefined) {
      const share = this.local.processes === 1 ? '' : ` at 1/${this.local.processes} of each limit`;
      return `limiting locally in this process${share}`;
    }
    return this.options.policy === 'allow' ? 'letting requests through' : 'answering 503';
  }

  /** What the warnings are about: `'default'`, or `'default' node 10.0.0.1:6379` on a Cluster. */
  private get subject(): string {
    const name = `'${this.options.name}'`;
    return this.options.node === undefined ? name : `${name} node ${this.options.node}`;
  }

  /** Calls `onOutage`; a listener that throws must not turn a fault into a crash. */
  private tell(state: 'down' | 'up', reason?: string): void {
    try {
      if (this.options.node === undefined) this.options.onOutage?.(state, reason);
      else this.options.onOutage?.(state, reason, this.options.node);
    } catch {
      // The module's event source logs its listeners' errors; nothing to add here.
    }
  }

  private get logger(): Pick<Logger, 'warn'> {
    return this.options.logger ?? defaultCacheLogger;
  }

  /**
   * The policy's answer to `callbacks` for `hit`, decided without the cache: admitted, a
   * {@link CacheUnavailableException}, or this process's local decision.
   */
  answer(callbacks: HitCallbacks, hit: UndecidedHit): void {
    if (this.local !== undefined) callbacks.resolve(this.local.hit(hit));
    else if (this.options.policy === 'deny') callbacks.reject(new CacheUnavailableException());
    else callbacks.resolve(admitted(hit.now));
  }

  /** {@link answer} as a promise, for a hit answered before it was queued. */
  withoutCache(hit: UndecidedHit): Promise<HitResult> {
    if (this.local !== undefined) return Promise.resolve(this.local.hit(hit));
    if (this.options.policy === 'deny') return Promise.reject(new CacheUnavailableException());
    return Promise.resolve(admitted(hit.now));
  }

  /**
   * {@link answer} for the hits of one all-or-none request (`hitAll`): under `'local'` they are decided
   * together, all or none, as the shared store would have; the other policies answer each alike anyway.
   */
  answerAll(callbacks: readonly HitCallbacks[], hits: readonly UndecidedHit[]): void {
    if (this.local === undefined) {
      for (let i = 0; i < hits.length; i++) this.answer(callbacks[i], hits[i]);
      return;
    }
    const results = this.local.hitAll(hits, hits[0]?.now);
    for (let i = 0; i < hits.length; i++) callbacks[i].resolve(results[i]);
  }

  /** {@link answerAll} as a promise, for the hits of a request answered before they were queued. */
  withoutCacheAll(hits: readonly UndecidedHit[]): Promise<HitResult[]> {
    if (this.local !== undefined) return Promise.resolve(this.local.hitAll(hits, hits[0]?.now));
    return Promise.all(hits.map((hit) => this.withoutCache(hit)));
  }
}

function admitted(now: number | undefined): HitResult {
  return { allowed: true, now: now ?? monotonicSeconds(), count: 0, oldest: null };
}

/** The module's logger when none is given. */
export const defaultCacheLogger: Pick<Logger, 'warn'> = new Logger('RestflowThrottle');
