import type { CacheFaults, HitCallbacks } from '../cache-faults';
import type { CallDeadline } from '../deadline';
import { HitQueue, overloaded } from './hit-queue';
import type { RedisConnection } from './redis-connection';
import { deleteMatching } from './redis-reset';
import {
  asEval, isNoScript, isRefused, parseScriptReply, scriptCommands, serverTimeOf, HITS_PER_SCRIPT, UncountableHitError,
  withExpiry,
  type ScriptHit,
} from './script-protocol';
import { monotonicSeconds, type HitResult, type ThrottleAlgorithm, type ThrottleStore } from '../throttle-store';

/** One hit waiting for the next flush, and its caller. */
interface QueuedHit extends ScriptHit, HitCallbacks {
  /** Answered (by Redis or by the policy): nothing may answer it again. */
  done: boolean;
}

/** Batches out at once: one fills while another is decided, so neither this process nor Redis waits for the other. */
const BATCHES_IN_FLIGHT = 2;

/**
 * Check-and-record on Redis: a batch of hits is one run of one Lua script
 * (throttle-script.lua.ts: DRF's sliding log, or GCRA, per hit), atomic and
 * timed by the server's `TIME`, so any number of processes share one limit.
 * Hits go out in batches, at most two out at once (see `flush`): every hit
 * that arrived meanwhile, as one EVALSHA, with one deadline
 * ({@link CacheFaults}); a hit costs one promise and its few arguments, no
 * timer, no command of its own.
 *
 * What one client can queue is bounded ({@link HitQueue}): a batch is at
 * most 4 096 hits, a key's share of it 512; a hit beyond either is refused
 * as an overload of its key, at once, and never counts as a cache fault. So
 * a batch's round trip stays short whatever one request or one client sends,
 * and only a batch that fails or outlives its deadline, which bounded work
 * does only on a slow or dead server, starts an outage.
 *
 * The deadline counts from when the batch's oldest hit asked, never
 * restarts: a batch that waited for the two out leaves with what is left of
 * it, and one with nothing left is answered by the policy, unsent. The wait
 * counted is the event loop's idle time (`loopIdleMs`, deadline.ts): time this
 * process was busy (a request of thousands of GraphQL fields) is the
 * process's, not the cache's, and costs no hit its answer. Each script carries
 * the server time past which it must not run: the batch's deadline on the
 * server's clock, by the offset learned from the last replies (a lower
 * bound, so the server never applies a hit the client has given up on);
 * before the first reply, the client's own clock stands in. A batch refused
 * as late is resent once.
 * On a Cluster each hit is a script of its own (same tick, same deadline):
 * keys live on different slots, and a hung master holds only its own.
 *
 * EVALSHA is tried first; a `NOSCRIPT` answer (new or restarted server,
 * `SCRIPT FLUSH`, failover) is retried with EVAL, which also loads the script.
 * The rules when Redis fails are in docs/faults.md.
 */
export class RedisThrottleStore implements ThrottleStore {
  readonly ownClock = true;
  private readonly queue = new HitQueue<QueuedHit>();
  /** Batches written and not yet answered (nor past their deadline); at most {@link BATCHES_IN_FLIGHT}. */
  private inFlight = 0;
  /** A flush is scheduled: hits queue until it runs, and go together. */
  private flushDue = false;
  /** Server seconds minus this process's {@link monotonicSeconds}, from the latest replies; `NaN` until then. */
  private clockOffset = Number.NaN;

  constructor(private readonly connection: RedisConnection, private readonly faults: CacheFaults) {}

  /** Deletes this app's throttle keys (tests), found by the patterns of the throttles' cache formats. */
  reset(keyPatterns: readonly string[]): Promise<void> {
    return deleteMatching(this.connection, keyPatterns);
  }

  hit(key: string, limit: number, durationSec: number, now: number | undefined, algorithm?: ThrottleAlgorithm): Promise<HitResult> {
    if (!this.connection.isReady()) {
      this.faults.failed(new Error(`the ${this.connection.library} connection is not ready`));
      return this.faults.withoutCache(now);
    }
    if (!this.faults.mayCall()) return this.faults.withoutCache(now);
    if (!this.queue.admits(key)) return Promise.resolve(overloaded(limit, durationSec, now));
    return new Promise<HitResult>((resolve, reject) => {
      this.schedule();
      this.queue.push({ key, limit, duration: durationSec, now, algorithm: algorithm === 'gcra' ? 'g' : 's', resolve, reject, done: false });
    });
  }

  /**
   * A flush on the next turn, unless one is due or two batches are out (the first answered sends what
   * queued). setImmediate rather than a microtask: an async getCacheKey() may take a few microtasks,
   * and its hit should still join the request's batch.
   */
  private schedule(): void {
    if (this.flushDue || this.inFlight >= BATCHES_IN_FLIGHT) return;
    this.flushDue = true;
    setImmediate(this.flush);
  }

  /** Sends the queued hits as one batch: a request's throttles, and under load every hit that arrived meanwhile. */
  private readonly flush = (): void => {
    this.flushDue = false;
    const { hits: batch, waitedMs } = this.queue.take();
    if (batch.length === 0) return;
    const leftMs = this.faults.timeoutMs - waitedMs;
    if (leftMs <= 0) {
      // Its whole deadline went waiting for the batches out: the cache is that slow. Never sent.
      this.faults.failed(new Error(`no answer within ${this.faults.timeoutMs} ms (queued behind slow batches)`));
      this.answerWithout(batch);
      return;
    }
    this.inFlight++;
    const sentAt = monotonicSeconds();
    const expiry = this.expiryOf(sentAt, leftMs);
    const deadline = this.faults.deadline(() => {
      // The cache holds this batch: those queued behind it are answered now, not after a second deadline.
      this.answerWithout(batch);
      this.answerWithout(this.queue.take().hits);
      this.release();
    }, leftMs);
    // A Cluster's hits go one per send: a hung node holds its own hits, not those the other nodes answered.
    const parts = this.connection.cluster ? batch.map((hit) => [hit]) : [batch];
    let unsettled = parts.length;
    const settled = (): void => {
      if (--unsettled > 0) return;
      if (deadline.answered()) this.release();
      else this.faults.lateAnswer();
    };
    for (const part of parts) void this.run(part, expiry, deadline, sentAt, leftMs).then(settled);
  };

  /** The batch out is done with: send what queued meanwhile. */
  private release(): void {
    this.inFlight--;
    if (this.queue.length > 0) this.schedule();
  }

  /**
   * The server time past which a batch sent at `sentAt` with `leftMs` of its deadline must not be applied
   * (before any reply, the client's clock stands in).
   */
  private expiryOf(sentAt: number, leftMs: number): string {
    return String(sentAt + leftMs / 1000 + (Number.isNaN(this.clockOffset) ? 0 : this.clockOffset));
  }

  /** Sends `hits`; answers them with Redis' decisions, unless the deadline answered them first. Never rejects. */
  private async run(
    hits: readonly QueuedHit[],
    expiry: string,
    deadline: CallDeadline,
    sentAt: number,
    leftMs: number,
  ): Promise<void> {
    const startedAt = this.faults.now();
    const commands = scriptCommands(hits, expiry);
    let replies: unknown[];
    try {
      replies = await this.connection.send(commands);
      this.learnClock(replies);
      if (!deadline.expired && replies.some(isNoScript)) replies = await this.resend(commands, replies, isNoScript, asEval);
      // Refused as late while this process still waits: the offset was off (a clock step); once more with the new one.
      if (!deadline.expired && replies.some(isRefused)) {
        const again = this.expiryOf(sentAt, leftMs);
        replies = await this.resend(commands, replies, isRefused, (command) => withExpiry(command, again));
      }
    } catch (error) {
      if (deadline.expired) return;
      this.faults.failed(error, startedAt);
      this.answerWithout(hits);
      return;
    }
    if (deadline.expired) return;
    let decided = false;
    for (let c = 0; c < commands.length; c++) {
      const from = c * HITS_PER_SCRIPT;
      const to = Math.min(from + HITS_PER_SCRIPT, hits.length);
      const results = this.decisionsOf(replies[c], to - from, startedAt);
      for (let i = from; i < to; i++) {
        const hit = hits[i];
        hit.done = true;
        const result = results?.[i - from];
        if (result === undefined) this.faults.answer(hit, hit.now);
        else if (result instanceof UncountableHitError) hit.reject(uncountable(hit, result));
        else hit.resolve(result);
      }
      if (results !== undefined) decided = true;
    }
    if (decided) this.faults.succeeded();
  }

  private answerWithout(hits: readonly QueuedHit[]): void {
    for (const hit of hits) {
      if (hit.done) continue;
      hit.done = true;
      this.faults.answer(hit, hit.now);
    }
  }

  /** A script's results, or `undefined` (a fault, already reported) when Redis could not decide its hits. */
  private decisionsOf(reply: unknown, count: number, startedAt: number): Array<HitResult | UncountableHitError> | undefined {
    try {
      const results = reply instanceof Error ? reply : parseScriptReply(reply, count);
      if (results === null) throw new Error('the batch reached Redis after its deadline');
      if (results instanceof Error) throw results;
      return results;
    } catch (error) {
      this.faults.failed(error, startedAt);
      return undefined;
    }
  }

  /** Sends again the commands whose reply `matches`, rewritten; their new replies replace the old. */
  private async resend(commands: readonly string[][], replies: unknown[], matches: (reply: unknown) => boolean, rewrite: (command: string[]) => string[]): Promise<unknown[]> {
    const indexes: number[] = [];
    const again: string[][] = [];
    for (let i = 0; i < replies.length; i++) {
      if (!matches(replies[i])) continue;
      indexes.push(i);
      again.push(rewrite(commands[i]));
    }
    const answers = await this.connection.send(again);
    this.learnClock(answers);
    for (let i = 0; i < indexes.length; i++) replies[indexes[i]] = answers[i];
    return replies;
  }

  /** The offset from the last reply of a batch: server time when the script ran, minus now, is at most the true offset. */
  private learnClock(replies: readonly unknown[]): void {
    for (let i = replies.length - 1; i >= 0; i--) {
      const server = serverTimeOf(replies[i]);
      if (Number.isFinite(server)) {
        this.clockOffset = server - monotonicSeconds();
        return;
      }
    }
  }
}

/** That hit's error (its request's, no other's): the settings it was sent with, and what the script refused. */
function uncountable(hit: ScriptHit, refused: UncountableHitError): Error {
  return new Error(
    `Redis cannot count a hit of limit ${hit.limit} per ${hit.duration} s: ${refused.message} ` +
      '(rates are bounded by parseRate(); this one reached the store some other way).',
    { cause: refused },
  );
}
