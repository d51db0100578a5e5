/**
 * The worst single throttle script inside Redis, and Redis memory per key,
 * at large limits: a log of `entries` stamps (a burst at the start of a
 * day) that expires all at once, or half of it, or that is full; and GCRA's
 * one number for comparison. Durations come from Redis' SLOWLOG (time
 * inside the server, so other clients wait that long), bytes from MEMORY USAGE.
 *
 *   npx ts-node --transpile-only test/redis/demos/lua-worst-case.ts [entries=300000]
 *
 * Starts its own redis-server on a free port.
 */
import { Redis } from 'ioredis';
import { CacheFaults } from '../../../lib/stores/cache-faults';
import { IoredisConnection } from '../../../lib/stores/redis/clients/ioredis';
import { RedisThrottleStore } from '../../../lib/stores/redis/redis.store';
import { RedisServer } from '../../helpers/redis-server';

export interface WorstCase {
  readonly case: string;
  /** Time the script ran inside Redis, from SLOWLOG, in microseconds. */
  readonly scriptUs: number;
  readonly allowed: boolean;
  readonly count: number;
}

/** Fills `key` with `entries` stamps one microsecond apart, newest (`newest`) at the head. */
async function fill(client: Redis, key: string, entries: number, newest: number): Promise<void> {
  await client.del(key);
  for (let done = 0; done < entries; done += 10_000) {
    const chunk: string[] = [];
    for (let i = done; i < Math.min(entries, done + 10_000); i++) chunk.push((newest - i / 1e6).toFixed(6));
    await client.rpush(key, ...chunk);
  }
}

/** The SLOWLOG duration of the one script the action runs. */
async function timed(
  client: Redis,
  action: () => { allowed: boolean; count: number } | Promise<{ allowed: boolean; count: number }>,
): Promise<{ scriptUs: number; allowed: boolean; count: number }> {
  await client.slowlog('RESET');
  const result = await action();
  const entries = (await client.slowlog('GET', 100)) as Array<[number, number, number, string[]]>;
  const scripts = entries.filter((entry) => /^eval/i.test(String(entry[3][0])));
  return { scriptUs: Math.max(...scripts.map((entry) => entry[2])), allowed: result.allowed, count: result.count };
}

/** Every case at `entries` stamps, against the Redis on `port`. */
export async function measureLuaWorstCase(
  port: number,
  entries: number,
): Promise<{ cases: WorstCase[]; bytesPerKey: Record<string, number> }> {
  const client = new Redis({ host: '127.0.0.1', port });
  const store = new RedisThrottleStore(
    new IoredisConnection(client),
    new CacheFaults({ name: 'bench', policy: 'deny', timeoutMs: 60_000 }),
  );
  const day = 86_400;
  const t0 = 1_000_000;
  try {
    await client.config('SET', 'slowlog-log-slower-than', '0');
    await store.hit('warmup', 1, 1, t0); // loads the script
    await store.hit('warmup', 1, 1, t0, 'gcra');
    const cases: WorstCase[] = [];
    const run = async (name: string, limit: number, now: number) =>
      cases.push({ case: name, ...(await timed(client, () => store.hit('log', limit, day, now))) });

    await fill(client, 'log', entries, t0);
    await run(`log of ${entries} all expired (one DEL)`, entries, t0 + day + 1);
    await fill(client, 'log', entries, t0);
    await run(
      `log of ${entries}, the older half expired (binary search, one LTRIM)`,
      entries,
      t0 + day - entries / 2e6 + 5e-7,
    );
    await fill(client, 'log', entries, t0);
    await run(`log of ${entries} full, nothing expired (denied)`, entries, t0 + 1);
    cases.push({
      case: 'GCRA at the same limit',
      ...(await timed(client, () => store.hit('tat', entries, day, t0 + 2, 'gcra'))),
    });

    // Memory per key at 100000/day: a full log against GCRA's one number.
    await fill(client, 'full', 100_000, t0);
    await store.hit('tat100k', 100_000, day, t0, 'gcra');
    const bytesPerKey = {
      'sliding-log, 100000 stamps': Number(await client.call('MEMORY', 'USAGE', 'full', 'SAMPLES', '0')),
      gcra: Number(await client.call('MEMORY', 'USAGE', 'tat100k', 'SAMPLES', '0')),
    };
    return { cases, bytesPerKey };
  } finally {
    client.disconnect();
  }
}

async function main(): Promise<void> {
  const entries = Number(process.argv[2] ?? 300_000);
  const server = await RedisServer.start();
  try {
    const { cases, bytesPerKey } = await measureLuaWorstCase(server.port, entries);
    for (const c of cases)
      console.log(
        `${(c.scriptUs / 1000).toFixed(3).padStart(8)} ms  ${c.case}  (allowed ${c.allowed}, count ${c.count})`,
      );
    for (const [name, bytes] of Object.entries(bytesPerKey))
      console.log(`${String(bytes).padStart(8)} B   per key, ${name}`);
    if (cases.some((c) => c.scriptUs >= 5000)) process.exitCode = 1;
  } finally {
    await server.dispose();
  }
}

if (process.argv[1]?.endsWith('lua-worst-case.ts') || process.argv[1]?.endsWith('lua-worst-case.js')) void main();
