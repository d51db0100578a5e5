/**
 * The GraphQL alias attack on the Redis store (issue 24, item 4), against a
 * redis-server of the test's own: one client (one key) queues tens of
 * thousands of hits at once, as one request of thousands of aliased fields
 * does. It cannot get past its limit, it cannot make the store declare an
 * outage (which, under 'allow', would let everyone through), and the hits
 * other clients make at the same time are decided exactly, within the
 * deadline. Before the queue was bounded, the whole backlog went as one
 * batch under one deadline, missed it, and the store declared an outage.
 *
 * What makes that hold is the size of a batch, so that is what is asserted,
 * exactly, on every write the store makes: at most MAX_BATCH_HITS hits, at
 * most MAX_WAITING_PER_KEY of them the attacker's. The deadline is long
 * (TIMEOUT_MS): a loaded CI machine that starves redis-server for a quarter
 * of a second is a real outage, and not what this test is about.
 */
import { Redis } from 'ioredis';
import { CacheFaults } from '../../lib/stores/cache-faults';
import { IoredisConnection } from '../../lib/stores/redis/clients/ioredis';
import type { RedisConnection } from '../../lib/stores/redis/redis-connection';
import { RedisThrottleStore } from '../../lib/stores/redis/redis.store';
import type { HitResult } from '../../lib/stores/throttle-store';
import { RedisServer } from '../helpers/redis-server';

const TIMEOUT_MS = 3000;
/** The bounds hit-queue.ts promises, written out: a test reading them from there would pass with any bound. */
const MAX_BATCH_HITS = 4096;
const MAX_WAITING_PER_KEY = 512;
const ATTACKER_LIMIT = 1000;
const OTHER_LIMIT = 10;
const OTHERS = 100;
const OTHER_HITS = OTHER_LIMIT + 2;

let server: RedisServer;
const clients: Redis[] = [];

beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server?.dispose();
});

/** Per write the store made: how many keys it carried, and how many of them were `attacker`'s. */
interface Write {
  readonly keys: number;
  readonly attacker: number;
}

/** The connection, with every write counted: a script's keys are its hits (`EVALSHA sha n key...`). */
function counted(connection: RedisConnection, attacker: string, writes: Write[]): RedisConnection {
  return {
    library: connection.library,
    cluster: connection.cluster,
    isReady: () => connection.isReady(),
    masterOf: (slot) => connection.masterOf(slot),
    masters: () => connection.masters(),
    send(commands) {
      let keys = 0;
      let mine = 0;
      for (const command of commands) {
        if (command[0] !== 'EVALSHA') continue;
        const n = Number(command[2]);
        keys += n;
        for (let i = 3; i < 3 + n; i++) if (command[i] === attacker) mine++;
      }
      if (keys > 0) writes.push({ keys, attacker: mine });
      return connection.send(commands);
    },
  };
}

function storeOn(
  policy: 'allow' | 'deny',
  attacker: string,
): { store: RedisThrottleStore; warnings: string[]; writes: Write[] } {
  const client = new Redis({ host: '127.0.0.1', port: server.port });
  client.on('error', () => undefined);
  clients.push(client);
  const warnings: string[] = [];
  const writes: Write[] = [];
  const logger = { warn: (m: string) => warnings.push(m) };
  const faults = new CacheFaults({ name: 'redis', policy, timeoutMs: TIMEOUT_MS, logger });
  const connection = counted(new IoredisConnection(client), attacker, writes);
  return { store: new RedisThrottleStore(connection, faults), warnings, writes };
}

/** Every write within the bounds, and the attacker's hits spread over several of them. */
function expectBoundedWrites(writes: readonly Write[]): void {
  expect(writes.length).toBeGreaterThan(1);
  expect(Math.max(...writes.map((w) => w.keys))).toBeLessThanOrEqual(MAX_BATCH_HITS);
  expect(Math.max(...writes.map((w) => w.attacker))).toBeLessThanOrEqual(MAX_WAITING_PER_KEY);
}

interface Timed {
  readonly key: string;
  readonly outcome: PromiseSettledResult<HitResult>;
  readonly ms: number;
}

/** OTHER_HITS hits on each of OTHERS keys, issued now, each timed from now to its answer. */
function othersNow(store: RedisThrottleStore, run: string): Array<Promise<Timed>> {
  const issuedAt = performance.now();
  const hits: Array<Promise<Timed>> = [];
  for (let k = 0; k < OTHERS; k++) {
    const key = `other-${run}-${k}`;
    for (let i = 0; i < OTHER_HITS; i++) {
      hits.push(
        Promise.allSettled([store.hit(key, OTHER_LIMIT, 3600, undefined)]).then(([outcome]) => ({
          key,
          outcome,
          ms: performance.now() - issuedAt,
        })),
      );
    }
  }
  return hits;
}

/** Every other key decided by Redis, exactly at its limit, and (`withinMs`) every hit answered within that. */
function expectExact(others: readonly Timed[], withinMs = Infinity): void {
  const admitted = new Map<string, number>();
  for (const { key, outcome } of others) {
    expect(outcome.status).toBe('fulfilled'); // never the policy's 503
    const result = (outcome as PromiseFulfilledResult<HitResult>).value;
    if (result.allowed) admitted.set(key, (admitted.get(key) ?? 0) + 1);
  }
  expect(new Set(admitted.values())).toEqual(new Set([OTHER_LIMIT]));
  expect(admitted.size).toBe(OTHERS);
  expect(Math.max(...others.map((o) => o.ms))).toBeLessThan(withinMs);
}

const slowest = (timed: readonly Timed[]) => Math.max(...timed.map((o) => o.ms)).toFixed(0);

async function admittedOf(hits: ReadonlyArray<HitResult | Promise<HitResult>>): Promise<number> {
  return (await Promise.allSettled(hits)).filter((o) => o.status === 'fulfilled' && o.value.allowed).length;
}

describe.each(['allow', 'deny'] as const)("onCacheError '%s'", (policy) => {
  it('one client queues 50 000 hits in one tick: at most its limit admitted, no outage, others exact', async () => {
    const attacker = `attacker-tick-${policy}`;
    const { store, warnings, writes } = storeOn(policy, attacker);
    await store.hit('warm', 1, 60, undefined); // connected, the server's clock learned
    const attack = Array.from({ length: 50_000 }, () => store.hit(attacker, ATTACKER_LIMIT, 3600, undefined));
    const others = await Promise.all(othersNow(store, `tick-${policy}`));
    expect(await admittedOf(attack)).toBeLessThanOrEqual(ATTACKER_LIMIT);
    expect(warnings).toEqual([]);
    expectExact(others, TIMEOUT_MS);
    expectBoundedWrites(writes);
    // eslint-disable-next-line no-console
    console.log(`one tick (${policy}): others answered within ${slowest(others)} ms`);
  });

  it('one client, a new key per hit (20 000 e-mails in one tick): others are still queued and exact', async () => {
    const { store, warnings, writes } = storeOn(policy, 'none');
    await store.hit('warm', 1, 60, undefined);
    // A throttle keyed on a field of the request (DRF's docs' password reset), one scope: no share of a key holds it.
    const flood = Array.from({ length: 20_000 }, (_, i) =>
      store.hit(`reset-${policy}-${i}@example.com`, 5, 3600, undefined, 'sliding-log', 'password_reset'),
    );
    const others = await Promise.all(othersNow(store, `keys-${policy}`));
    const results = await Promise.allSettled(flood);
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true); // never the policy's answer
    const answers = results.map((r) => (r as PromiseFulfilledResult<HitResult>).value);
    // The flood's hits past its scope's room are refused as an overload, the rest decided by Redis.
    expect(answers.filter((r) => r.provisional !== true).length).toBeLessThanOrEqual(MAX_BATCH_HITS);
    expect(answers.every((r) => (r.provisional === true ? !r.allowed : r.allowed))).toBe(true);
    expect(warnings).toEqual([]);
    expectExact(others, TIMEOUT_MS);
    expectBoundedWrites(writes);
    // eslint-disable-next-line no-console
    console.log(`a key per hit (${policy}): others answered within ${slowest(others)} ms`);
  });

  it('24 requests of 5 000 aliased fields, one per turn, beside other clients: the same', async () => {
    const attacker = `attacker-turns-${policy}`;
    const { store, warnings, writes } = storeOn(policy, attacker);
    await store.hit('warm', 1, 60, undefined);
    const attack: Array<HitResult | Promise<HitResult>> = [];
    const others: Array<Promise<Timed>> = [];
    for (let request = 0; request < 24; request++) {
      for (let field = 0; field < 5000; field++) {
        attack.push(store.hit(attacker, ATTACKER_LIMIT, 3600, undefined));
      }
      if (request % 6 === 0) others.push(...othersNow(store, `turns-${policy}-${request}`));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await admittedOf(attack)).toBeLessThanOrEqual(ATTACKER_LIMIT);
    const timed = await Promise.all(others);
    expect(warnings).toEqual([]);
    expectBoundedWrites(writes);
    // Exact, so decided by Redis within their deadline (counted on the cache's time). Their wall time also holds
    // the turns of 5 000 hits this test runs meanwhile, so it is printed, not bounded.
    for (let request = 0; request < 24; request += 6) {
      expectExact(timed.filter((o) => o.key.startsWith(`other-turns-${policy}-${request}-`)));
    }
    // eslint-disable-next-line no-console
    console.log(`24 turns (${policy}): others answered within ${slowest(timed)} ms`);
  });
});
