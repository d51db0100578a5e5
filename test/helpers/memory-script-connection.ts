/**
 * A fake Redis for unit tests of the Redis store: a `RedisConnection` whose server is a memory store speaking the
 * throttle script's protocol (lib/stores/redis/script-protocol.ts) and the key admin's (key-admin.ts), answering
 * a turn later. Every hit it decides is logged, so a test can tell what reached "Redis" and what did not.
 */
import { MemoryThrottleStore } from '../../lib/stores/memory/memory.store';
import type { RedisConnection } from '../../lib/stores/redis/redis-connection';
import type { HitResult, StoreHit, ThrottleAlgorithm } from '../../lib/stores/throttle-store';

export class MemoryScriptConnection implements RedisConnection {
  readonly library = 'fake';
  readonly cluster = false;
  readonly memory = new MemoryThrottleStore(100_000);
  /** What reached the server: `hit <key> <cost|-> <blockSec|->`, `hitAll <keys>`, `refund <key> <n>`, ... */
  readonly calls: string[] = [];
  /** Replaces the memory store's decision of a hit (a canned answer). */
  decide?: (hit: StoreHit) => HitResult;

  /** @param serverNow the server's TIME, for hits sent without a `now`. */
  constructor(private readonly serverNow: () => number = () => performance.now() / 1000 + 5_000) {}

  isReady(): boolean {
    return true;
  }

  masterOf(): undefined {
    return undefined;
  }

  masters(): string[] {
    return [];
  }

  get hits(): number {
    return this.calls.filter((call) => call.startsWith('hit')).length;
  }

  send(commands: ReadonlyArray<readonly string[]>): Promise<unknown[]> {
    const replies = commands.map((command) => this.run(command));
    return new Promise((resolve) => setImmediate(() => resolve(replies)));
  }

  private run(command: readonly string[]): unknown {
    if (command[0] === 'DEL') return (this.calls.push(`forget ${command[1]}`), this.memory.forget(command[1]), 1);
    if (command[0] === 'SCAN') return ['0', []];
    const n = Number(command[2]);
    if (n === 1 && command.length === 5) return this.admin(command[3], command[4]);
    const keys = command.slice(3, 3 + n);
    const hits: Array<StoreHit & { now: number | undefined; unit: number }> = [];
    let unit = 0;
    for (const arg of command.slice(4 + n)) {
      const [first, ...rest] = arg.split(' ');
      if (first === 'a') {
        unit = Number(rest[0]);
        continue;
      }
      const [limit, duration, now, algo, cost, blockSec] = rest;
      for (let i = 0; i < Number(first); i++) {
        const key = keys[hits.length];
        const algorithm: ThrottleAlgorithm = algo === 'g' ? 'gcra' : 'sliding-log';
        const at = now === '-' ? undefined : Number(now);
        const extra = cost === undefined ? {} : { cost: Number(cost), blockSec: Number(blockSec) };
        hits.push({ key, limit: Number(limit), durationSec: Number(duration), algorithm, now: at, unit, ...extra });
        unit = 0;
      }
    }
    const server = this.serverNow();
    const lines = [String(server)];
    for (let i = 0; i < hits.length; i += Math.max(1, hits[i].unit)) {
      const group = hits.slice(i, i + Math.max(1, hits[i].unit));
      const now = group[0].now ?? server;
      const results = group.length > 1 ? this.decideAll(group, now) : [this.decideOne(group[0], now)];
      for (const r of results) lines.push(`${r.allowed ? 1 : 0} ${r.now} ${r.count} ${r.oldest ?? '-'}`);
    }
    return lines.join('\n');
  }

  private decideOne(hit: StoreHit, now: number): HitResult {
    this.calls.push(`hit ${hit.key} ${hit.cost ?? '-'} ${hit.blockSec ?? '-'}`);
    if (this.decide !== undefined) return this.decide(hit);
    const { key, limit, durationSec, algorithm, cost, blockSec } = hit;
    return this.memory.hit(key, limit, durationSec, now, algorithm, undefined, cost, blockSec);
  }

  private decideAll(hits: readonly StoreHit[], now: number): HitResult[] {
    this.calls.push(`hitAll ${hits.map((hit) => hit.key).join(' ')}`);
    return this.memory.hitAll(hits, now);
  }

  /** The key admin's `<r|b> <s|g> <limit> <duration> <now|-> <amount>`. */
  private admin(key: string, call: string): string {
    const [op, algo, limit, duration, now, amount] = call.split(' ');
    const spec = {
      limit: Number(limit),
      durationSec: Number(duration),
      algorithm: algo === 'g' ? 'gcra' : 'sliding-log',
    } as const;
    const at = now === '-' ? this.serverNow() : Number(now);
    this.calls.push(`${op === 'r' ? 'refund' : 'block'} ${key} ${amount}`);
    if (op === 'r') this.memory.refund(key, Number(amount), spec, at);
    else this.memory.block(key, Number(amount), spec, at);
    return 'OK';
  }
}
