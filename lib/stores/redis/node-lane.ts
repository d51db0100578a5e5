// The hits waiting on one Redis server (or one Cluster master): its queue, its batches out, its deadline, its faults.
import type { CacheFaults } from '../cache-faults';
import type { CallDeadline } from '../deadline';
import type { UndecidedHit } from '../local-fallback';
import { type HitResult, monotonicSeconds } from '../throttle-store';
import { bySlot } from './cluster-slot';
import { ServerClock } from './server-clock';
import { HitQueue, overloaded, type QueuedHit } from './hit-queue';
import type { RedisConnection } from './redis-connection';
import type { RefusalCache } from './refusal-cache';
import {
  asEval,
  isNoScript,
  isRefused,
  parseScriptReply,
  type ScriptHit,
  scriptsOf,
  serverTimeOf,
  UncountableHitError,
  withExpiry,
} from './script-protocol';

/** Batches out at once: one fills while another is decided, so neither this process nor Redis waits for the other. */
const BATCHES_IN_FLIGHT = 2;

/**
 * Everything the Redis store does for the hits of one server: the hits
 * waiting for the next batch ({@link HitQueue}, bounded), the batches out (at
 * most two), each batch's one deadline, the offset of the server's clock,
 * and the {@link CacheFaults} that decide whether to call the server at all.
 * A single server has one lane; a Cluster one per master, so a master that
 * hangs fills its own two batches, misses its own deadlines and has its own
 * outage, while the other masters' lanes keep deciding.
 *
 * A batch is one write: on a single server one script per 256 hits, on a
 * Cluster master one script per slot of the batch (a script's keys must
 * share a slot), all sent in the same tick to that master, so one round trip.
 *
 * The deadline counts from when the batch's oldest hit asked, never
 * restarts: a batch that waited for the two out leaves with what is left of
 * it, and one with nothing left is answered by the policy, unsent. Each
 * script carries the server time past which it must not run: the batch's
 * deadline on the server's clock, by the offset learned from this server's
 * replies ({@link ServerClock}: a lower bound, so the server never applies a
 * hit the client has given up on, which a reply read late never lowers);
 * before the first reply, the client's own clock stands in. A script refused
 * as late is resent once; one answered `NOSCRIPT` is resent with EVAL, which
 * loads it. A resend carries the time its deadline has left from then
 * ({@link CallDeadline.progressed}), not the batch's first expiry.
 */
export class NodeLane {
  private readonly queue = new HitQueue<QueuedHit>();
  /** Batches written and not yet answered (nor past their deadline); at most {@link BATCHES_IN_FLIGHT}. */
  private inFlight = 0;
  /** A flush is scheduled: hits queue until it runs, and go together. */
  private flushDue = false;
  /** The server's clock, learned from its replies: each batch's expiry. */
  private readonly serverClock = new ServerClock();

  /** @param refusals the store's, taught each refusal Redis decides here. */
  constructor(
    private readonly connection: RedisConnection,
    readonly faults: CacheFaults,
    private readonly refusals?: RefusalCache,
  ) {}

  hit(hit: QueuedHit): Promise<HitResult> {
    if (!this.connection.isReady()) {
      this.faults.failed(new Error(`the ${this.connection.library} connection is not ready`));
      return this.faults.withoutCache(undecided(hit));
    }
    if (!this.faults.mayCall()) return this.faults.withoutCache(undecided(hit));
    if (!this.queue.admits(hit.key, hit.scope)) return Promise.resolve(overloaded(hit.limit, hit.duration, hit.now));
    this.schedule();
    return this.queued(hit);
  }

  /** One all-or-none request's hits (`hitAll`), judged once and queued together; without Redis, each as hit() would. */
  hitAll(hits: readonly QueuedHit[]): Promise<HitResult[]> {
    const ready = this.connection.isReady();
    if (!ready) this.faults.failed(new Error(`the ${this.connection.library} connection is not ready`));
    if (!ready || !this.faults.mayCall()) return this.faults.withoutCacheAll(hits.map(undecided));
    if (!hits.every((hit) => this.queue.admits(hit.key, hit.scope)))
      return Promise.resolve(hits.map((hit) => overloaded(hit.limit, hit.duration, hit.now)));
    this.schedule();
    return Promise.all(hits.map((hit) => this.queued(hit)));
  }

  /** Queues `hit`, answered by the batch that takes it (or by the policy): its caller's promise. */
  private queued(hit: QueuedHit): Promise<HitResult> {
    return new Promise<HitResult>((resolve, reject) => {
      hit.resolve = resolve;
      hit.reject = reject;
      this.queue.push(hit);
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
      // Its whole deadline went waiting for the batches out: the server is that slow. Never sent.
      this.faults.failed(new Error(`no answer within ${this.faults.timeoutMs} ms (queued behind slow batches)`));
      this.answerWithout(batch);
      return;
    }
    this.inFlight++;
    const sentAt = monotonicSeconds();
    const deadline = this.faults.deadline(() => {
      // The server holds this batch: those queued behind it are answered now, not after a second deadline.
      this.answerWithout(batch);
      this.answerWithout(this.queue.take().hits);
      this.release();
    }, leftMs);
    void this.run(this.connection.cluster ? bySlot(batch) : [batch], deadline, sentAt, leftMs).then(() => {
      if (deadline.answered()) this.release();
      else this.faults.lateAnswer();
    });
  };

  /** The batch out is done with: send what queued meanwhile. */
  private release(): void {
    this.inFlight--;
    if (this.queue.length > 0) this.schedule();
  }

  /**
   * Sends the batch, `groups` of hits that may share a script; answers them with Redis' decisions, unless the
   * deadline answered them first. Never rejects.
   */
  private async run(
    groups: readonly QueuedHit[][],
    deadline: CallDeadline,
    sentAt: number,
    leftMs: number,
  ): Promise<void> {
    const startedAt = this.faults.now();
    const generation = this.refusals?.generation ?? 0;
    const expiry = this.serverClock.expiry(sentAt, leftMs);
    const { commands, hitsOf } = scriptsOf(groups, expiry);
    let replies: unknown[];
    try {
      replies = await this.connection.send(commands);
      this.learnClock(replies);
      if (!deadline.expired && replies.some(isNoScript))
        replies = await this.resend(commands, replies, isNoScript, asEval, deadline);
      // Refused as late while this process still waits: read late after a busy stretch, or the offset was off (a
      // clock step). Once more, with the time the deadline has left and the offset learnt meanwhile.
      if (!deadline.expired && replies.some(isRefused))
        replies = await this.resend(commands, replies, isRefused, (command) => command, deadline);
    } catch (error) {
      if (deadline.expired) return;
      this.faults.failed(error, startedAt);
      for (const hits of hitsOf) this.answerWithout(hits);
      return;
    }
    if (deadline.expired) return;
    let decided = false;
    for (let c = 0; c < commands.length; c++) {
      const hits = hitsOf[c];
      const results = this.decisionsOf(replies[c], hits.length, startedAt);
      for (let i = 0; i < hits.length; i++) {
        const hit = hits[i];
        hit.done = true;
        const result = results?.[i];
        if (result === undefined) this.faults.answer(hit, undecided(hit));
        else if (result instanceof UncountableHitError) hit.reject(uncountable(hit, result));
        else {
          if (!result.allowed) this.refusals?.learn(hit, result, sentAt, generation);
          hit.resolve(result);
        }
      }
      if (results !== undefined) decided = true;
    }
    if (decided) this.succeeded();
  }

  /**
   * Redis decided hits of this lane. On a Cluster the client routes each command by its slot, so after a
   * failover the hits of a dead master's lane reach the master that took its slots over: that ends the
   * dead master's outage as a retirement, not as its recovery.
   */
  private succeeded(): void {
    const node = this.faults.node;
    if (node !== undefined && this.faults.isDown) {
      const masters = this.connection.masters();
      if (masters.length > 0 && !masters.includes(node)) {
        this.faults.retired();
        return;
      }
    }
    this.faults.succeeded();
  }

  /** The policy's answers; the hits of an all-or-none request (its first hit's `extra.unit`) together. */
  private answerWithout(hits: readonly QueuedHit[]): void {
    for (let i = 0, n = 1; i < hits.length; i += n) {
      n = Math.max(1, hits[i].extra?.unit ?? 0);
      const open = hits.slice(i, i + n).filter((hit) => !hit.done);
      for (const hit of open) hit.done = true;
      if (open.length > 1) this.faults.answerAll(open, open.map(undecided));
      else if (open.length === 1) this.faults.answer(open[0], undecided(open[0]));
    }
  }

  /** A script's results, or `undefined` (a fault, already reported) when Redis could not decide its hits. */
  private decisionsOf(
    reply: unknown,
    count: number,
    startedAt: number,
  ): Array<HitResult | UncountableHitError> | undefined {
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

  /**
   * Sends again the commands whose reply `matches`, rewritten; their new replies replace the old. The server
   * answered: the deadline times the second round trip in idle time ({@link CallDeadline.progressed}), and the
   * commands carry the expiry of that, not the batch's first one, which a busy stretch may have put in the past.
   */
  private async resend(
    commands: readonly string[][],
    replies: unknown[],
    matches: (reply: unknown) => boolean,
    rewrite: (command: string[]) => string[],
    deadline: CallDeadline,
  ): Promise<unknown[]> {
    const expiry = this.serverClock.expiry(monotonicSeconds(), deadline.progressed());
    const indexes: number[] = [];
    const again: string[][] = [];
    for (let i = 0; i < replies.length; i++) {
      if (!matches(replies[i])) continue;
      indexes.push(i);
      again.push(withExpiry(rewrite(commands[i]), expiry));
    }
    const answers = await this.connection.send(again);
    this.learnClock(answers);
    for (let i = 0; i < indexes.length; i++) replies[indexes[i]] = answers[i];
    return replies;
  }

  /** The server time a batch's last reply carries, for {@link ServerClock}. */
  private learnClock(replies: readonly unknown[]): void {
    for (let i = replies.length - 1; i >= 0; i--) {
      const server = serverTimeOf(replies[i]);
      if (Number.isFinite(server)) {
        this.serverClock.learn(server);
        return;
      }
    }
  }
}

/** A hit as the fault policy needs it, when Redis could not decide it (`'local'` decides it in process). */
function undecided(hit: ScriptHit): UndecidedHit {
  const algorithm = hit.algorithm === 'g' ? 'gcra' : 'sliding-log';
  const { key, limit, duration, now, extra } = hit;
  if (extra === undefined) return { key, limit, duration, now, algorithm };
  return { key, limit, duration, now, algorithm, cost: extra.cost, blockSec: extra.blockSec };
}

/** That hit's error (its request's, no other's): the settings it was sent with, and what the script refused. */
function uncountable(hit: ScriptHit, refused: UncountableHitError): Error {
  return new Error(
    `Redis cannot count a hit of limit ${hit.limit} per ${hit.duration} s: ${refused.message} ` +
      '(rates are bounded by parseRate(); this one reached the store some other way).',
    { cause: refused },
  );
}
