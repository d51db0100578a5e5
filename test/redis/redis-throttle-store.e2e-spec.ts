/**
 * The Redis store itself, against redis-server processes of the test's own:
 * a busy process is not an outage, a request answered without Redis leaves
 * no trace, work for a frozen server stays bounded, and an expired log of
 * any length is trimmed in a few commands.
 */
import { Redis } from 'ioredis';
import { CacheFaults } from '../../lib/stores/cache-faults';
import { IoredisConnection } from '../../lib/stores/redis/clients/ioredis';
import { RedisThrottleStore } from '../../lib/stores/redis/redis.store';
import { THROTTLE_SCRIPT } from '../../lib/stores/redis/throttle-script.lua';
import type { HitResult } from '../../lib/stores/throttle-store';
import { RedisServer } from '../helpers/redis-server';

class Warnings {
  readonly lines: string[] = [];
  warn(message: unknown): void {
    this.lines.push(String(message));
  }
}

let server: RedisServer;
const clients: Redis[] = [];

beforeAll(async () => {
  server = await RedisServer.start();
});
afterEach(() => server.thaw());
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server?.dispose();
});

function storeOn(options: { policy?: 'allow' | 'deny'; timeoutMs?: number } = {}): {
  store: RedisThrottleStore;
  faults: CacheFaults;
  warnings: Warnings;
  client: Redis;
} {
  const client = new Redis({ host: '127.0.0.1', port: server.port });
  client.on('error', () => undefined);
  clients.push(client);
  const warnings = new Warnings();
  const faults = new CacheFaults({
    name: 'redis',
    policy: options.policy ?? 'allow',
    timeoutMs: options.timeoutMs ?? 200,
    logger: warnings,
  });
  return { store: new RedisThrottleStore(new IoredisConnection(client), faults), faults, warnings, client };
}

const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const settle = <T>(answers: Array<T | Promise<T>>) => Promise.allSettled(answers);

it('a process busy for longer than cacheTimeoutMs is not an outage: exactly the limit admitted, no warning', async () => {
  const { store, warnings } = storeOn({ timeoutMs: 200 });
  await store.hit('warmup', 1, 60, undefined); // connected, offset learned
  const pending = Array.from({ length: 50 }, () => store.hit('busy', 10, 60, undefined));
  await nextTurn(); // the batch is written...
  busy(300); // ...and the process is blocked while Redis answers
  const results = await Promise.all(pending);
  expect(results.filter((r) => r.allowed)).toHaveLength(10);
  expect(await server.command('LLEN', 'busy')).toBe(10);
  expect(warnings.lines).toEqual([]);
});

it('a reply read late does not make the next batches late: busy twice for longer than cacheTimeoutMs, no outage', async () => {
  // The server clock's offset is learned from replies; one read after a busy stretch is lower than the true offset
  // by that stretch. Taken as the offset, it dates the next batch's expiry that much early: Redis refuses it as
  // late, and if that refusal is read late too, the resend is refused again and the batch was answered by the
  // policy (612 of 2 000 aliased GraphQL fields admitted at a limit of 100, in a loaded CI run).
  const { store, warnings } = storeOn({ timeoutMs: 200 });
  await store.hit('warmup', 1, 60, undefined); // connected, offset learned
  for (let round = 0; round < 3; round++) {
    const pending = Array.from({ length: 20 }, () => store.hit('busy-twice', 10, 60, undefined));
    await nextTurn(); // the batch is written...
    busy(400); // ...and its reply read twice the deadline late
    await Promise.all(pending);
  }
  expect(await server.command('LLEN', 'busy-twice')).toBe(10);
  expect(warnings.lines).toEqual([]);
});

it('a fresh server read after a busy stretch: NOSCRIPT, then the EVAL with the time left, decided by Redis', async () => {
  // On a server without the script the first batch needs a second round trip (EVAL). Its first reply read twice
  // the deadline late, the EVAL went out with the batch's first expiry, long past: Redis refused it as late, and
  // again, and a server that answered every time was an outage (the GraphQL alias attack, in a full run).
  for (let round = 0; round < 3; round++) {
    const { store, warnings, client } = storeOn({ timeoutMs: 200 });
    await client.ping(); // connected (a connection still being made would hold the batch: a fault of its own)
    await server.command('SCRIPT', 'FLUSH');
    const key = `fresh-${round}`;
    const pending = Array.from({ length: 20 }, () => store.hit(key, 10, 60, undefined));
    await nextTurn(); // the batch is written...
    busy(400); // ...and its NOSCRIPT read twice the deadline late
    const results = await Promise.all(pending);
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    expect(await server.command('LLEN', key)).toBe(10);
    expect(warnings.lines).toEqual([]);
  }
});

describe.each(['allow', 'deny'] as const)("a frozen server (SIGSTOP) with '%s'", (policy) => {
  it('requests answered during the freeze leave no trace once it resumes, and work for it stays bounded', async () => {
    const { store, faults, warnings } = storeOn({ policy, timeoutMs: 100 });
    const key = `frozen-${policy}`;
    expect((await store.hit(key, 5, 60, undefined)).allowed).toBe(true); // the offset is learned here
    server.freeze();
    const during: Array<PromiseSettledResult<HitResult>> = [];
    for (let i = 0; i < 8; i++) during.push(...(await settle([store.hit(key, 5, 60, undefined)])));
    // Many more while it hangs: answered at once, not sent.
    during.push(...(await settle(Array.from({ length: 200 }, () => store.hit(key, 5, 60, undefined)))));
    for (const outcome of during) {
      if (policy === 'allow') expect(outcome).toMatchObject({ status: 'fulfilled', value: { allowed: true } });
      else expect(outcome).toMatchObject({ status: 'rejected', reason: { status: 503 } });
    }
    expect(faults.hangingCalls).toBe(1); // one probe batch held by the client, not 208 hits
    expect(warnings.lines.filter((w) => /unavailable/.test(w))).toHaveLength(1);

    server.thaw();
    for (let i = 0; i < 100 && faults.hangingCalls > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(faults.hangingCalls).toBe(0);
    expect(await server.command('LLEN', key)).toBe(1); // only the hit answered by Redis itself
    const after = await store.hit(key, 5, 60, undefined);
    expect(after).toMatchObject({ allowed: true, count: 2 });
  });
});

it('the very first batch, sent to a server frozen before any reply, leaves no trace either', async () => {
  const { store, faults, client } = storeOn({ policy: 'allow', timeoutMs: 100 });
  await client.script('LOAD', THROTTLE_SCRIPT); // connected and loaded, but the store has had no reply yet
  server.freeze();
  const first = await store.hit('frozen-first', 5, 60, undefined); // no offset learned yet: the client's clock stands in
  expect(first).toMatchObject({ allowed: true, count: 0 });
  await new Promise((r) => setTimeout(r, 100)); // past the batch's expiry while the server is still frozen
  server.thaw();
  for (let i = 0; i < 100 && faults.hangingCalls > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(await server.command('EXISTS', 'frozen-first')).toBe(0);
});

it('the two batches out when the server froze leave no trace either once it resumes', async () => {
  const { store, faults } = storeOn({ policy: 'allow', timeoutMs: 100 });
  await store.hit('warm', 1, 60, undefined); // connected, offset learned
  server.freeze();
  const first = Array.from({ length: 5 }, () => store.hit('frozen-two', 100, 60, undefined));
  await nextTurn(); // the first batch is written...
  const second = Array.from({ length: 5 }, () => store.hit('frozen-two', 100, 60, undefined));
  await nextTurn(); // ...and the second, while the first is out
  const answers = await Promise.all([...first, ...second]);
  expect(answers.every((a) => a.allowed && a.count === 0)).toBe(true); // answered without Redis
  expect(faults.hangingCalls).toBe(2);
  await new Promise((r) => setTimeout(r, 100)); // past both batches' expiry while the server is still frozen
  server.thaw();
  for (let i = 0; i < 100 && faults.hangingCalls > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(faults.hangingCalls).toBe(0);
  expect(await server.command('EXISTS', 'frozen-two')).toBe(0);
});

it('a script reached after its expiry (server clock) changes nothing and answers x', async () => {
  for (const algorithm of ['s', 'g']) {
    const reply = String(
      await server.command('EVAL', THROTTLE_SCRIPT, '2', 'late', 'late2', '1000', `2 5 60 - ${algorithm}`),
    );
    expect(reply).toMatch(/^x \d+\.\d{6}$/);
    expect(await server.command('EXISTS', 'late', 'late2')).toBe(0);
  }
});

it('a hit refused as late while the store still waits (its clock offset was off) is sent once more, and counted once', async () => {
  const { store, warnings } = storeOn({ timeoutMs: 1000 });
  expect((await store.hit('offset', 5, 60, undefined)).allowed).toBe(true);
  // As if the server's clock had stepped an hour ahead since the offset was learned.
  const clock = (store as unknown as { own: { serverClock: { current: number; previous: number } } }).own.serverClock;
  expect(Number.isFinite(clock.current)).toBe(true);
  clock.current -= 3600;
  clock.previous -= 3600;
  expect(await store.hit('offset', 5, 60, undefined)).toMatchObject({ allowed: true, count: 2 });
  expect(await server.command('LLEN', 'offset')).toBe(2);
  expect(warnings.lines).toEqual([]);
});

it('a log of 300000 stamps expiring at once is dropped with one LLEN, a few LINDEX and one LTRIM, exactly', async () => {
  const key = 'worst';
  for (let done = 0; done < 300_000; done += 10_000) {
    await server.command('RPUSH', key, ...Array.from({ length: 10_000 }, (_, i) => String(2000 - (done + i) / 1e6)));
  }
  // 1999.7 < stamps <= 2000, newest first; at now = 2000.5 with 1 s, stamps <= 1999.5 expire: none yet.
  const { store } = storeOn({ timeoutMs: 5000 });
  // Keeps the 150000 stamps above 1999.8500005.
  const { result, calls: delta } = await server.callsDuring(() => store.hit(key, 300_000, 1, 2000.8500005));
  expect(result).toMatchObject({ allowed: true, count: 150_001 });
  expect(await server.command('LLEN', key)).toBe(150_001);
  expect(delta('ltrim')).toBe(1);
  expect(delta('llen')).toBe(1);
  expect(delta('lrange')).toBe(0);
  expect(delta('rpop')).toBe(0);
  // The oldest stamp, the head and the second oldest, then the search.
  expect(delta('lindex')).toBeLessThanOrEqual(3 + Math.ceil(Math.log2(300_000)));
  // Everything expired: one DEL, then the log restarts at one.
  expect(await store.hit(key, 300_000, 1, 2003)).toMatchObject({ allowed: true, count: 1, oldest: 2003 });
  expect(await server.command('LLEN', key)).toBe(1);
});

it('one script decides a whole batch in arrival order: several keys, both algorithms, a key hit twice', async () => {
  const { store } = storeOn({ timeoutMs: 5000 });
  await store.hit('warm', 1, 60, undefined);
  const { result: results, calls } = await server.callsDuring(() =>
    Promise.all([
      store.hit('batch-log', 2, 60, undefined),
      store.hit('batch-gcra', 1, 60, undefined, 'gcra'),
      store.hit('batch-log', 2, 60, undefined),
      store.hit('batch-gcra', 1, 60, undefined, 'gcra'),
      store.hit('batch-log', 2, 60, undefined),
      store.hit('batch-clock', 1, 60, 1000.25),
    ]),
  );
  expect(results.map((r) => [r.allowed, r.count])).toEqual([
    [true, 1],
    [true, 1],
    [true, 2],
    [false, 1],
    [false, 2],
    [true, 1],
  ]);
  expect(results[5]).toEqual({ allowed: true, now: 1000.25, count: 1, oldest: 1000.25 });
  expect(calls('evalsha')).toBe(1);
  expect(await server.command('LLEN', 'batch-log')).toBe(2);
});

it('a key hit again in the same batch is not read again: one LPUSH per hit after the first', async () => {
  const { store } = storeOn({ timeoutMs: 5000 });
  await store.hit('warm', 1, 60, undefined);
  for (let i = 0; i < 20; i++) await server.command('LPUSH', 'hot', String(1000 + i)); // read once: its length, oldest stamp and head
  const { result: results, calls: delta } = await server.callsDuring(() =>
    Promise.all(Array.from({ length: 30 }, (_, i) => store.hit('hot', 45, 60, 1030 + i / 100))),
  );
  expect(results.map((r) => r.count)).toEqual([...Array.from({ length: 25 }, (_, i) => 21 + i), 45, 45, 45, 45, 45]);
  expect(results.every((r) => r.oldest === 1000)).toBe(true);
  expect([delta('evalsha'), delta('lrange'), delta('llen'), delta('lindex'), delta('lpush')]).toEqual([1, 0, 1, 2, 25]);
  expect(await server.command('LLEN', 'hot')).toBe(45);
});

it("a key hit again in the same batch is read again once its oldest stamp expired on the hit's own clock", async () => {
  const { store } = storeOn({ timeoutMs: 5000 });
  await store.hit('warm', 1, 60, undefined);
  const results = await Promise.all([100, 100.5, 160, 160.5, 161].map((now) => store.hit('expiring', 10, 60, now)));
  // At 160 the stamp of 100 is exactly a duration old: gone, as DRF's `<=` says; at 160.5 so is 100.5.
  expect(results.map((r) => [r.count, r.oldest])).toEqual([
    [1, 100],
    [2, 100],
    [2, 100.5],
    [2, 160],
    [3, 160],
  ]);
  expect(await server.command('LRANGE', 'expiring', '0', '-1')).toEqual(['161', '160.5', '160']);
});

it('drops one expired stamp with one LINDEX -2 and one LTRIM, a longer expired tail by binary search', async () => {
  const { store } = storeOn({ timeoutMs: 5000 });
  await store.hit('warm', 1, 60, undefined);
  for (let i = 0; i < 10; i++) await server.command('LPUSH', 'sliding', String(100 + i)); // 100 .. 109, newest first
  // At 160 the stamp of 100 is a duration old: the oldest, the head, the second oldest, one LTRIM.
  const { result, calls } = await server.callsDuring(() => store.hit('sliding', 20, 60, 160));
  expect(result).toMatchObject({ count: 10, oldest: 101 });
  expect(['llen', 'lindex', 'ltrim', 'lrange'].map(calls)).toEqual([1, 3, 1, 0]);
  // At 163.5, 101 to 103 are: found by probing, still one LTRIM.
  expect(await store.hit('sliding', 20, 60, 163.5)).toMatchObject({ count: 8, oldest: 104 });
  expect(await server.command('LRANGE', 'sliding', '0', '-1')).toEqual([
    '163.5',
    '160',
    '109',
    '108',
    '107',
    '106',
    '105',
    '104',
  ]);
});

it('the expiry is written when a stamp starts a new eighth of the duration, and never falls short of the newest stamp', async () => {
  const { store } = storeOn({ timeoutMs: 5000 });
  const pttl = async () => Number(await server.command('PTTL', 'slices'));
  const { calls } = await server.callsDuring(async () => {
    await store.hit('slices', 100, 80, 1000.5); // slice [1000, 1010): expires at 1010 + 80, 89.5 s from 1000.5
    expect(await pttl()).toBeGreaterThan(89_000);
    expect(await pttl()).toBeLessThanOrEqual(89_500);
    await store.hit('slices', 100, 80, 1009); // same slice: not written again
    await store.hit('slices', 100, 80, 1010); // a new slice: 1020 + 80, 90 s from 1010
    expect(await pttl()).toBeGreaterThan(89_500);
    expect(await pttl()).toBeLessThanOrEqual(90_000);
  });
  expect(calls('pexpire')).toBe(2);
});

it('a batch of more hits than one script takes goes as several scripts in one write, every hit decided in order', async () => {
  const { store } = storeOn({ timeoutMs: 5000 });
  await store.hit('warm', 1, 60, undefined);
  // Two keys of 300 hits: a key's share of a batch is 512 hits.
  const { result: results, calls } = await server.callsDuring(() =>
    Promise.all(
      Array.from({ length: 600 }, (_, i) => store.hit(i < 300 ? 'batch-big' : 'batch-big-2', 250, 60, undefined)),
    ),
  );
  const perKey = [...Array.from({ length: 250 }, (_, i) => i + 1), ...Array.from({ length: 50 }, () => 250)];
  expect(results.map((r) => r.count)).toEqual([...perKey, ...perKey]);
  expect(results.filter((r) => r.allowed)).toHaveLength(500);
  expect(calls('evalsha')).toBe(3); // 256 + 256 + 88
  expect(await server.command('LLEN', 'batch-big')).toBe(250);
  expect(await server.command('LLEN', 'batch-big-2')).toBe(250);
});

it('a connection that is down answers at once with the policy, one warning', async () => {
  const { store, warnings, client } = storeOn({ policy: 'deny' });
  client.disconnect();
  await expect(store.hit('down', 1, 60, undefined)).rejects.toMatchObject({ status: 503 });
  await expect(store.hit('down', 1, 60, undefined)).rejects.toMatchObject({ status: 503 });
  expect(warnings.lines).toHaveLength(1);
  expect(warnings.lines[0]).toMatch(/'redis' is unavailable/);
});

it('the binary search drops a stamp equal to the cutoff wherever it lies in the log', async () => {
  const { store } = storeOn({ timeoutMs: 5000 });
  for (const [count, cutoff] of [
    [10, 5],
    [10, 2],
    [7, 3],
    [2, 0],
  ]) {
    const key = `cut-${count}-${cutoff}`;
    for (let t = 0; t < count; t++) await store.hit(key, 100, 20, 1000 + t);
    const result = await store.hit(key, 100, 20, 1020 + cutoff); // stamps <= 1000 + cutoff expire
    expect(result).toMatchObject({ allowed: true, count: count - cutoff, oldest: 1000 + cutoff + 1 });
  }
});
