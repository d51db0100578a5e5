/**
 * The Redis store's side of the store seam (costs, looks, blocks, hitAll, refund, block, forget) against a
 * redis-server of the test's own: what Redis holds after each step (the log, its block entry, the GCRA value,
 * the expiry), that hitAll is all or none under concurrency from two stores, that a plain hit costs the
 * commands it always did, and that admin calls reject on a fault. Times are the throttle's clock (`now`
 * given), so every answer is exact; store-seam-model.e2e-spec.ts holds the Lua to the memory store's steps.
 */
import { Redis } from 'ioredis';
import { computeWait } from 'restflow-throttle';
import { CacheFaults } from '../../lib/stores/cache-faults';
import { IoredisConnection } from '../../lib/stores/redis/clients/ioredis';
import { MAX_WAITING_PER_KEY } from '../../lib/stores/redis/hit-queue';
import { RedisThrottleStore } from '../../lib/stores/redis/redis.store';
import type { HitResult, ThrottleAlgorithm } from '../../lib/stores/throttle-store';
import { RedisServer } from '../helpers/redis-server';

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

function storeOn(options: { policy?: 'allow' | 'deny'; timeoutMs?: number } = {}): RedisThrottleStore {
  const client = new Redis({ host: '127.0.0.1', port: server.port });
  client.on('error', () => undefined);
  clients.push(client);
  const faults = new CacheFaults({
    name: 'redis',
    policy: options.policy ?? 'allow',
    timeoutMs: options.timeoutMs ?? 1000,
    logger: { warn: () => undefined },
  });
  return new RedisThrottleStore(new IoredisConnection(client), faults);
}

let keys = 0;
const fresh = (name: string) => `seam:${name}:${++keys}`;
const T = 1_000_000;
const wait = (result: HitResult, limit: number, duration = 60) =>
  computeWait({ ...result, numRequests: limit, duration });

describe.each<ThrottleAlgorithm>(['sliding-log', 'gcra'])('%s', (algorithm) => {
  let store: RedisThrottleStore;
  beforeAll(() => {
    store = storeOn();
  });
  const spec = (limit: number) => ({ limit, durationSec: 60, algorithm });
  const hit = (key: string, now: number, limit: number, cost?: number, blockSec?: number) =>
    store.hit(key, limit, 60, now, algorithm, 'seam', cost, blockSec);
  /** What Redis holds: a log's entries newest first, or GCRA's value. */
  const held = async (key: string) =>
    algorithm === 'gcra' ? server.command('GET', key) : server.command('LRANGE', key, '0', '-1');

  it('a hit of cost c counts as c requests, and one that does not fit is refused recording nothing', async () => {
    const key = fresh('cost');
    expect(await hit(key, T, 5, 3)).toMatchObject({ allowed: true, count: 3 });
    if (algorithm === 'sliding-log') expect(await held(key)).toEqual([`${T}`, `${T}`, `${T}`]);
    const before = await held(key);
    const refused = await hit(key, T + 1, 5, 3);
    expect(refused).toMatchObject({ allowed: false, count: 5 });
    // Room for 3 once the first stamp (or interval) of T leaves the window.
    expect(wait(refused, 5)).toBeCloseTo(algorithm === 'gcra' ? 11 : 59, 6);
    expect(await held(key)).toEqual(before);
    expect(await hit(key, T + 1, 5, 2)).toMatchObject({ allowed: true, count: 5 });
    expect(await hit(key, T + 2, 5)).toMatchObject({ allowed: false, count: 5 });
  });

  it('a cost above the limit never fits: refused with no wait, recording nothing, starting no block', async () => {
    const key = fresh('never');
    const refused = await hit(key, T, 3, 4, 600);
    expect(refused).toMatchObject({ allowed: false, count: 4 });
    expect(wait(refused, 3)).toBeNull();
    expect(await server.command('EXISTS', key)).toBe(0);
    expect(await hit(key, T, 3, 3)).toMatchObject({ allowed: true, count: 3 });
  });

  it('a look (cost 0) is decided as a hit of 1 and records nothing', async () => {
    const key = fresh('look');
    expect(await hit(key, T, 2, 0)).toEqual({ allowed: true, now: T, count: 0, oldest: null });
    expect(await server.command('EXISTS', key)).toBe(0);
    await hit(key, T, 2);
    const before = await held(key);
    expect(await hit(key, T + 1, 2, 0)).toMatchObject({ allowed: true, count: 1 });
    expect(await held(key)).toEqual(before);
    await hit(key, T + 1, 2);
    expect(await hit(key, T + 2, 2, 0)).toMatchObject({ allowed: false, count: 2 });
    const full = await held(key);
    await hit(key, T + 3, 2, 0);
    expect(await held(key)).toEqual(full);
  });

  it('a refusal with blockSec blocks the key until max(now + blockSec, room again); nothing recorded meanwhile', async () => {
    const key = fresh('block');
    await hit(key, T, 2, 1, 300);
    await hit(key, T + 1, 2, 1, 300);
    const refused = await hit(key, T + 2, 2, 1, 300);
    expect(refused).toMatchObject({ allowed: false, count: 2 });
    expect(wait(refused, 2)).toBeCloseTo(300, 6);
    const blocked = await held(key);
    // The block lives in the key: the log's oldest entry, or GCRA's value.
    if (algorithm === 'sliding-log') expect(blocked).toEqual([`${T + 1}`, `${T}`, `b${T + 302}`]);
    else expect(String(blocked)).toMatch(new RegExp(`^b${T + 302} `));
    expect(Number(await server.command('PTTL', key))).toBeGreaterThan(299_000);
    // Past the window, still blocked; a blockSec hit meanwhile does not extend it.
    const later = await hit(key, T + 100, 2, 1, 300);
    expect(later).toMatchObject({ allowed: false, count: 2 });
    expect(wait(later, 2)).toBeCloseTo(202, 6);
    expect(await hit(key, T + 200, 2, 0)).toMatchObject({ allowed: false });
    expect(await held(key)).toEqual(blocked);
    expect(await hit(key, T + 302, 2, 1, 300)).toMatchObject({ allowed: true, count: 1 });
    if (algorithm === 'sliding-log') expect(await held(key)).toEqual([`${T + 302}`]);
  });

  it('a block shorter than the wait lasts until the key has room; a blocked key of another rate is refused', async () => {
    const key = fresh('short');
    await hit(key, T, 1);
    const refused = await hit(key, T + 10, 1, 1, 5);
    expect(wait(refused, 1)).toBeCloseTo(50, 6);
    expect(await hit(key, T + 30, 10)).toMatchObject({ allowed: false, count: 10 });
    expect(await hit(key, T + 60, 1)).toMatchObject({ allowed: true });
  });

  it('refund gives back the newest hits, never below empty, and keeps a block', async () => {
    const key = fresh('refund');
    for (let i = 0; i < 5; i++) await hit(key, T + i, 5);
    await store.refund(key, 2, spec(5), T + 5);
    expect(await hit(key, T + 5, 5, 2)).toMatchObject({ allowed: true, count: 5 });
    await store.refund(key, 100, spec(5), T + 6);
    expect(await hit(key, T + 6, 5, 0)).toMatchObject({ allowed: true, count: 0 });
    await store.block(key, 30, spec(5), T + 6);
    await store.refund(key, 1, spec(5), T + 7);
    expect(await hit(key, T + 7, 5)).toMatchObject({ allowed: false, count: 5 });
    expect(await store.refund(fresh('none'), 1, spec(5), T)).toBeUndefined();
  });

  it('block() refuses every hit until it ends, keeps a longer one, and forget() drops count and block', async () => {
    const key = fresh('admin');
    await hit(key, T, 5);
    await store.block(key, 100, spec(5), T + 1);
    const blocked = await hit(key, T + 2, 5);
    expect(blocked).toMatchObject({ allowed: false, count: 5 });
    expect(wait(blocked, 5)).toBeCloseTo(99, 6);
    await store.block(key, 10, spec(5), T + 2);
    expect(wait(await hit(key, T + 50, 5), 5)).toBeCloseTo(51, 6);
    await store.forget(key);
    expect(await server.command('EXISTS', key)).toBe(0);
    expect(await hit(key, T + 51, 5)).toMatchObject({ allowed: true, count: 1 });
    // A key never hit can be blocked.
    const empty = fresh('admin-empty');
    await store.block(empty, 20, spec(5), T);
    expect(wait(await hit(empty, T + 5, 5), 5)).toBeCloseTo(15, 6);
    expect(await hit(empty, T + 20, 5)).toMatchObject({ allowed: true, count: 1 });
  });

  it('hitAll records every hit when all are allowed, none when one is refused (whose block starts)', async () => {
    const [a, b] = [fresh('all-a'), fresh('all-b')];
    const pair = (now: number, blockSec = 0) =>
      store.hitAll(
        [
          { key: a, limit: 10, durationSec: 60, algorithm, cost: 2 },
          { key: b, limit: 2, durationSec: 60, algorithm, blockSec },
        ],
        now,
      );
    expect(await pair(T)).toMatchObject([
      { allowed: true, count: 2 },
      { allowed: true, count: 1 },
    ]);
    await pair(T + 1);
    const [heldA, heldB] = [await held(a), await held(b)];
    const refused = await pair(T + 2, 100);
    // a would have been allowed: allowed, counted nowhere, reporting its standing; b refused, and blocked.
    expect(refused[0]).toMatchObject({ allowed: true, count: 4 });
    expect(refused[1]).toMatchObject({ allowed: false, count: 2 });
    expect(wait(refused[1], 2)).toBeCloseTo(100, 6);
    expect(await held(a)).toEqual(heldA);
    if (algorithm === 'sliding-log') expect(await held(b)).toEqual([...(heldB as string[]), `b${T + 102}`]);
    expect(await hit(a, T + 3, 10, 0)).toMatchObject({ allowed: true, count: 4 });
  });

  it('hitAll over one key twice sees its first record, and takes both back when refused', async () => {
    const key = fresh('twice');
    const twice = (now: number) =>
      store.hitAll(
        [
          { key, limit: 5, durationSec: 60, algorithm },
          { key, limit: 2, durationSec: 60, algorithm },
        ],
        now,
      );
    expect(await twice(T)).toMatchObject([
      { allowed: true, count: 1 },
      { allowed: true, count: 2 },
    ]);
    const before = await held(key);
    // The log's refusal reports its true count (3, past the limit of 2), as DRF's does; GCRA's the limit.
    expect(await twice(T + 1)).toMatchObject(
      algorithm === 'gcra'
        ? [
            { allowed: true, count: 4 },
            { allowed: false, count: 2 },
          ]
        : [
            { allowed: true, count: 2 },
            { allowed: false, count: 3 },
          ],
    );
    expect(await held(key)).toEqual(before);
  });

  it('hitAll is exact under concurrency from two stores: the scarcest key decides, none over', async () => {
    const other = storeOn();
    const [wide, narrow] = [fresh('race-wide'), fresh('race-narrow')];
    const request = (s: RedisThrottleStore) =>
      s.hitAll(
        [
          { key: wide, limit: 100, durationSec: 60, algorithm },
          { key: narrow, limit: 7, durationSec: 60, algorithm, cost: 1 },
        ],
        undefined,
      );
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => request(i % 2 === 0 ? store : other)));
    expect(results.filter((r) => r.every((h) => h.allowed))).toHaveLength(7);
    expect(results.filter((r) => !r[1].allowed)).toHaveLength(53);
    const look = (key: string, limit: number) => store.hit(key, limit, 60, undefined, algorithm, 'seam', 0);
    expect(await look(wide, 100)).toMatchObject({ allowed: true, count: 7 });
    expect(await look(narrow, 7)).toMatchObject({ allowed: false, count: 7 });
    if (algorithm === 'sliding-log') {
      expect(await server.command('LLEN', wide)).toBe(7);
      expect(await server.command('LLEN', narrow)).toBe(7);
    }
  });
});

describe('the common path', () => {
  it('a plain hit sends the plain group and costs the commands it always did', async () => {
    const store = storeOn();
    const key = fresh('plain');
    await store.hit(fresh('warm'), 5, 60, T); // script loaded, connection up
    const { result, calls } = await server.callsDuring(() =>
      Promise.all(Array.from({ length: 10 }, () => store.hit(key, 100, 60, T))),
    );
    expect(result.map((r) => r.count)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // One script; the new log read once (LLEN), ten stamps, one expiry: no block lookup anywhere.
    expect([calls('evalsha'), calls('llen'), calls('lindex'), calls('lpush'), calls('pexpire')]).toEqual([
      1, 1, 0, 10, 1,
    ]);
    // A key already holding stamps: LLEN and two LINDEX (its tail, where a block would be, and its head).
    const again = await server.callsDuring(() => store.hit(key, 100, 60, T + 1));
    expect([again.calls('llen'), again.calls('lindex'), again.calls('pttl'), again.calls('get')]).toEqual([1, 2, 0, 0]);
  });
});

describe('hitAll and admin calls on a fault', () => {
  it("hitAll while the server is frozen follows onCacheError ('deny': 503), and leaves nothing once it resumes", async () => {
    const store = storeOn({ policy: 'deny', timeoutMs: 100 });
    const key = fresh('frozen');
    await store.hit(key, 5, 60, undefined); // connected, clock offset learned
    server.freeze();
    const all = store.hitAll(
      [
        { key, limit: 5, durationSec: 60, algorithm: 'sliding-log', cost: 2 },
        { key: `${key}:b`, limit: 5, durationSec: 60, algorithm: 'gcra', blockSec: 10 },
      ],
      undefined,
    );
    await expect(all).rejects.toMatchObject({ status: 503 });
    server.thaw();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await server.command('LLEN', key)).toBe(1);
    expect(await server.command('EXISTS', `${key}:b`)).toBe(0);
  });

  it('hitAll whose key has no room in the queue is refused whole as an overload, queued nowhere', async () => {
    const store = storeOn();
    const [flooded, other] = [fresh('flood'), fresh('flood-other')];
    const flood = Array.from({ length: MAX_WAITING_PER_KEY }, () => store.hit(flooded, 1000, 60, T));
    const all = store.hitAll(
      [
        { key: other, limit: 5, durationSec: 60, algorithm: 'sliding-log' },
        { key: flooded, limit: 1000, durationSec: 60, algorithm: 'sliding-log' },
      ],
      T,
    );
    expect((await all).map((r) => r.allowed)).toEqual([false, false]);
    await Promise.all(flood);
    expect(await server.command('EXISTS', other)).toBe(0);
    expect(await server.command('LLEN', flooded)).toBe(MAX_WAITING_PER_KEY);
  });

  it('refund, block and forget reject with the fault: a frozen server past the deadline, a closed connection', async () => {
    const store = storeOn({ timeoutMs: 100 });
    const key = fresh('admin-fault');
    await store.hit(key, 5, 60, undefined);
    server.freeze();
    const spec = { limit: 5, durationSec: 60, algorithm: 'sliding-log' as const };
    await expect(store.refund(key, 1, spec, undefined)).rejects.toThrow('no answer within 100 ms');
    await expect(store.block(key, 10, spec, undefined)).rejects.toThrow('no answer within 100 ms');
    await expect(store.forget(key)).rejects.toThrow('no answer within 100 ms');
    server.thaw();
    clients.pop()?.disconnect(); // this store's client
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(store.forget(key)).rejects.toThrow('connection is not ready');
  });

  it('an admin call Redis refuses rejects with its error, and bad arguments are refused before sending', async () => {
    const store = storeOn();
    const spec = { limit: 5, durationSec: 60, algorithm: 'gcra' as const };
    await expect(store.block('k', 1e300, spec, T)).rejects.toThrow(/out of range/);
    await expect(store.refund('k', 1.5, spec, T)).rejects.toThrow(RangeError);
    await expect(store.block('k', -1, spec, T)).rejects.toThrow(RangeError);
  });
});
