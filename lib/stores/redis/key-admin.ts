/** The Redis store's calls on one key outside a hit (refund, block, forget): one command each, rejected on a fault. */
import type { KeySpec } from '../throttle-store';
import { KEY_ADMIN_SCRIPT, KEY_ADMIN_SHA } from './key-admin.lua';
import type { RedisConnection } from './redis-connection';
import { isNoScript } from './script-protocol';

/**
 * Runs refunds, blocks and forgets on Redis. They decide no request, so a
 * fault is not answered by `onCacheError`: the call rejects with the
 * cache's error (the connection's, the one Redis answered, or one saying
 * no answer came within the deadline) and the caller decides. Each is one
 * command sent at once, not batched with hits: they are rare, and a caller
 * awaiting one wants it applied before its next hit. A call that missed its
 * deadline may still be applied when the server answers: no request was
 * answered in its place, so nothing is counted twice. On a Cluster the
 * client routes each by its key.
 */
export class KeyAdmin {
  constructor(
    private readonly connection: RedisConnection,
    private readonly timeoutMs: number,
  ) {}

  /** Gives back `cost` of the key's newest hits (key-admin.lua.ts). */
  refund(key: string, cost: number, spec: KeySpec, now: number | undefined): Promise<void> {
    if (!Number.isSafeInteger(cost) || cost < 0) return Promise.reject(new RangeError(`a refund of ${cost}`));
    if (cost === 0) return Promise.resolve();
    return this.script(key, 'r', spec, now, cost);
  }

  /** Blocks the key for `seconds` from now, unless a longer block is there (key-admin.lua.ts). */
  block(key: string, seconds: number, spec: KeySpec, now: number | undefined): Promise<void> {
    if (!Number.isFinite(seconds) || seconds < 0) return Promise.reject(new RangeError(`a block of ${seconds} s`));
    if (seconds === 0) return Promise.resolve();
    return this.script(key, 'b', spec, now, seconds);
  }

  /** Deletes the key: its count and its block, which lives in its value. */
  async forget(key: string): Promise<void> {
    await this.send(['DEL', key]);
  }

  private async script(
    key: string,
    op: 'r' | 'b',
    spec: KeySpec,
    now: number | undefined,
    amount: number,
  ): Promise<void> {
    const algorithm = spec.algorithm === 'gcra' ? 'g' : 's';
    const call = `${op} ${algorithm} ${spec.limit} ${spec.durationSec} ${now ?? '-'} ${amount}`;
    const reply = await this.send(['EVALSHA', KEY_ADMIN_SHA, '1', key, call]);
    // Not loaded yet (or flushed): EVAL loads it.
    if (isNoScript(reply)) await this.send(['EVAL', KEY_ADMIN_SCRIPT, '1', key, call]);
  }

  /**
   * One command's reply, `NOSCRIPT` included; rejects with a connection fault, a missed deadline or any other
   * error Redis answered.
   */
  private send(command: string[]): Promise<unknown> {
    if (!this.connection.isReady())
      return Promise.reject(new Error(`the ${this.connection.library} connection is not ready`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.connection.send([command]).then(
        ([reply]) => {
          clearTimeout(timer);
          if (reply instanceof Error && !isNoScript(reply)) reject(reply);
          else resolve(reply);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
}
