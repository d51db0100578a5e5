import type { RedisScriptClient } from './redis-client';
import { SLIDING_LOG_SCRIPT, SLIDING_LOG_SHA } from './sliding-log.lua';
import type { HitResult, ThrottleStore } from './throttle-store';

/** One hit waiting for the next flush: the script's KEYS[1] and ARGV, and its caller. */
interface QueuedHit {
  readonly args: readonly string[];
  resolve(result: HitResult): void;
  reject(error: unknown): void;
}

/** A pipeline's answer to one command. */
type Reply = [Error | null, unknown];

/**
 * Connection states in which ioredis already knows the server is gone. A hit
 * sent then would wait in the offline queue until the deadline and land
 * later as a stale hit; refusing it at once answers the request sooner.
 */
const DISCONNECTED: ReadonlySet<string> = new Set(['reconnecting', 'close', 'end']);

/**
 * The sliding log on Redis: every check-and-record is one run of
 * {@link SLIDING_LOG_SCRIPT}, atomic on the server and timed by the server's
 * `TIME`, so any number of processes share one exact limit.
 *
 * Hits issued in the same turn of the event loop (all the throttles of a
 * request, and those of concurrent requests) go out as one pipeline: one
 * round trip whatever the number of throttles, with any client
 * configuration. A Cluster client instead sends each hit on its own, all in
 * the same tick: its pipelines only accept keys of one slot, and the keys of
 * one request (one per scope) live on different slots anyway.
 *
 * EVALSHA is tried first; a `NOSCRIPT` answer (new or restarted server,
 * `SCRIPT FLUSH`, failover) is retried with EVAL, which also loads the script.
 */
export class RedisThrottleStore implements ThrottleStore {
  readonly ownClock = true;
  private queue: QueuedHit[] = [];

  constructor(private readonly client: RedisScriptClient) {}

  hit(key: string, limit: number, durationSec: number, now: number | undefined): Promise<HitResult> {
    const status = this.client.status;
    if (status !== undefined && DISCONNECTED.has(status)) {
      return Promise.reject(new Error(`the Redis connection is ${status}`));
    }
    const args = [key, String(limit), String(durationSec), now === undefined ? '' : String(now)];
    if (this.client.isCluster === true) return this.runAlone(args);
    return new Promise<HitResult>((resolve, reject) => {
      // setImmediate rather than a microtask: an async getCacheKey() may take
      // a few microtasks, and its hit should still join the request's batch.
      if (this.queue.length === 0) setImmediate(() => void this.flush());
      this.queue.push({ args, resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    let replies: Reply[];
    try {
      replies = await this.runPipelined(batch.map((hit) => hit.args));
    } catch (error) {
      for (const hit of batch) hit.reject(error);
      return;
    }
    batch.forEach((hit, i) => {
      const [error, reply] = replies[i];
      try {
        if (error !== null) throw error;
        hit.resolve(parseReply(reply));
      } catch (failure) {
        hit.reject(failure);
      }
    });
  }

  /** All hits in one pipeline of EVALSHA; those answered NOSCRIPT again, with EVAL. */
  private async runPipelined(batch: ReadonlyArray<readonly string[]>): Promise<Reply[]> {
    const pipeline = this.client.pipeline();
    for (const args of batch) pipeline.evalsha(SLIDING_LOG_SHA, 1, ...args);
    const replies = checked(await pipeline.exec(), batch.length);
    const missing = replies.flatMap(([error], i) => (isNoScript(error) ? [i] : []));
    if (missing.length === 0) return replies;
    const retry = this.client.pipeline();
    for (const i of missing) retry.eval(SLIDING_LOG_SCRIPT, 1, ...batch[i]);
    const retried = checked(await retry.exec(), missing.length);
    missing.forEach((index, i) => (replies[index] = retried[i]));
    return replies;
  }

  private async runAlone(args: readonly string[]): Promise<HitResult> {
    let reply: unknown;
    try {
      reply = await this.client.evalsha(SLIDING_LOG_SHA, 1, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      reply = await this.client.eval(SLIDING_LOG_SCRIPT, 1, ...args);
    }
    return parseReply(reply);
  }
}

function checked(replies: Reply[] | null, expected: number): Reply[] {
  if (replies === null || replies.length !== expected) {
    throw new Error(`Redis answered ${replies === null ? 'nothing' : replies.length} of ${expected} pipelined commands`);
  }
  return replies;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** `{allowed, now, count, oldest}` from the script's `[0|1, "now", count, "oldest"|""]`. */
export function parseReply(reply: unknown): HitResult {
  if (!Array.isArray(reply) || reply.length !== 4) {
    throw new Error(`unexpected reply from the throttle script: ${JSON.stringify(reply)}`);
  }
  const [allowed, now, count, oldest] = reply as unknown[];
  const result: HitResult = {
    allowed: Number(allowed) === 1,
    now: Number(now),
    count: Number(count),
    oldest: oldest === '' || oldest === null ? null : Number(oldest),
  };
  if (!Number.isFinite(result.now) || !Number.isInteger(result.count) || (result.oldest !== null && !Number.isFinite(result.oldest))) {
    throw new Error(`unexpected reply from the throttle script: ${JSON.stringify(reply)}`);
  }
  return result;
}
