/**
 * How the Redis store paces its batches, against a fake connection whose
 * replies the test releases by hand: at most two batches out at once, one
 * script per batch, and hits that arrive meanwhile wait and go together;
 * what one key or one tick can queue is bounded, the excess refused as an
 * overload (not a fault); a batch's deadline counts from when its oldest
 * hit asked, on the cache's time, not the process's.
 */
import { CacheFaults } from '../../../lib/stores/cache-faults';
import { MAX_BATCH_HITS, MAX_WAITING_PER_KEY } from '../../../lib/stores/redis/hit-queue';
import type { RedisConnection } from '../../../lib/stores/redis/redis-connection';
import { RedisThrottleStore } from '../../../lib/stores/redis/redis.store';
import type { HitResult } from '../../../lib/stores/throttle-store';
import { computeWait } from '../../../lib/throttles/rate';

class HeldConnection implements RedisConnection {
  readonly library = 'fake';
  readonly cluster = false;
  readonly sent: Array<{ commands: ReadonlyArray<readonly string[]>; answer: () => void }> = [];

  isReady(): boolean {
    return true;
  }

  send(commands: ReadonlyArray<readonly string[]>): Promise<unknown[]> {
    return new Promise((resolve) => {
      // Every hit allowed, as the script would answer at server time 100.
      const replies = commands.map((command) => ['100', ...Array.from({ length: Number(command[2]) }, () => '1 100 1 100')].join('\n'));
      this.sent.push({ commands, answer: () => resolve(replies) });
    });
  }

  /** The keys of each send so far. */
  keys(): string[][] {
    return this.sent.map(({ commands }) => commands.flatMap((command) => command.slice(3, 3 + Number(command[2]))));
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

it('keeps at most two batches out; hits that arrive meanwhile go together as one script when one is answered', async () => {
  const connection = new HeldConnection();
  const store = new RedisThrottleStore(connection, new CacheFaults({ name: 'fake', policy: 'allow', timeoutMs: 60_000 }));
  const settled: string[] = [];
  const hit = (key: string): Promise<HitResult> => store.hit(key, 5, 60, undefined).then((result) => (settled.push(key), result));

  const a = hit('a');
  await nextTurn();
  const b = hit('b');
  await nextTurn();
  const rest = [hit('c'), hit('d')];
  await nextTurn();
  await nextTurn();
  expect(connection.keys()).toEqual([['a'], ['b']]); // c and d wait: two batches are out

  connection.sent[0].answer();
  expect(await a).toEqual({ allowed: true, now: 100, count: 1, oldest: 100 });
  await nextTurn();
  expect(connection.keys()).toEqual([['a'], ['b'], ['c', 'd']]);
  expect(connection.sent[2].commands).toHaveLength(1); // one script for both

  connection.sent[1].answer();
  connection.sent[2].answer();
  await Promise.all([b, ...rest]);
  expect(settled).toEqual(['a', 'b', 'c', 'd']);
});

function capture(): { warn(message: string): void; lines: string[] } {
  const lines: string[] = [];
  return { warn: (message: string) => lines.push(message), lines };
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

it('one key has at most its share waiting; its other hits are refused at once as overload, unsent', async () => {
  const connection = new HeldConnection();
  const logger = capture();
  const faults = new CacheFaults({ name: 'fake', policy: 'allow', timeoutMs: 60_000, logger });
  const store = new RedisThrottleStore(connection, faults);
  const attack = Array.from({ length: 20_000 }, () => store.hit('attacker', 100, 60, 1000));
  const others = Array.from({ length: 10 }, (_, i) => store.hit(`other-${i}`, 5, 60, 1000));
  await nextTurn();
  const queued = [...Array(MAX_WAITING_PER_KEY).fill('attacker'), ...others.map((_, i) => `other-${i}`)];
  expect(connection.keys()).toEqual([queued]);
  const refused = await Promise.all(attack.slice(MAX_WAITING_PER_KEY));
  // A 429 for that key: at its limit, with a wait of one second (its queued hits are decided by then).
  const refusal = { allowed: false, now: 1000, count: 100, oldest: 941 };
  expect(new Set(refused.map((r) => JSON.stringify(r)))).toEqual(new Set([JSON.stringify(refusal)]));
  expect(computeWait({ ...refused[0], numRequests: 100, duration: 60 })).toBe(1);
  connection.sent[0].answer();
  expect((await Promise.all(others)).every((r) => r.allowed && r.count === 1)).toBe(true);
  expect([faults.isDown, logger.lines]).toEqual([false, []]);
});

it(`a batch is at most ${MAX_BATCH_HITS} hits: the rest of one tick's hits are refused as an overload`, async () => {
  const connection = new HeldConnection();
  const faults = new CacheFaults({ name: 'fake', policy: 'deny', timeoutMs: 60_000, logger: capture() });
  const store = new RedisThrottleStore(connection, faults);
  const hits = Array.from({ length: MAX_BATCH_HITS + 100 }, (_, i) => store.hit(`client-${i}`, 5, 60, 1000));
  await nextTurn();
  expect(connection.keys().map((keys) => keys.length)).toEqual([MAX_BATCH_HITS]);
  const late = await Promise.all(hits.slice(MAX_BATCH_HITS)); // refused, not rejected with the policy's 503
  expect(late.every((r) => !r.allowed && r.count === 5)).toBe(true);
  expect(faults.isDown).toBe(false);
  connection.sent[0].answer();
  expect((await Promise.all(hits.slice(0, MAX_BATCH_HITS))).every((r) => r.allowed)).toBe(true);
});

it('the deadline counts from when a hit asked: a batch that waited on the two out leaves with the rest', async () => {
  const connection = new HeldConnection();
  const faults = new CacheFaults({ name: 'fake', policy: 'allow', timeoutMs: 300, logger: capture() });
  const store = new RedisThrottleStore(connection, faults);
  void store.hit('a', 5, 60, undefined);
  await nextTurn();
  void store.hit('b', 5, 60, undefined);
  await nextTurn();
  const askedAt = performance.now();
  const queued = store.hit('c', 5, 60, undefined).then((result) => ({ result, ms: performance.now() - askedAt }));
  await sleep(200); // c waits for the two out, the loop idle: the cache's time
  connection.sent[0].answer();
  await nextTurn();
  await nextTurn();
  expect(connection.keys()).toEqual([['a'], ['b'], ['c']]);
  // Never answered: the policy answers c once its own 300 ms are up, not 300 ms after it was sent.
  const { result, ms } = await queued;
  expect(result).toMatchObject({ allowed: true, count: 0 });
  expect(ms).toBeGreaterThanOrEqual(290);
  expect(ms).toBeLessThan(420);
});

it("time the process was busy is not the cache's: a batch queued behind two out while busy is decided", async () => {
  const connection = new HeldConnection();
  const logger = capture();
  const faults = new CacheFaults({ name: 'fake', policy: 'allow', timeoutMs: 200, logger });
  const store = new RedisThrottleStore(connection, faults);
  const out = [store.hit('a', 5, 60, undefined)];
  await nextTurn();
  out.push(store.hit('b', 5, 60, undefined));
  await nextTurn();
  const queued = store.hit('c', 5, 60, undefined);
  busy(300); // longer than the whole deadline, while c waits
  connection.sent[0].answer();
  connection.sent[1].answer();
  await Promise.all(out);
  await nextTurn();
  expect(connection.keys()).toEqual([['a'], ['b'], ['c']]);
  await sleep(50);
  connection.sent[2].answer();
  expect(await queued).toEqual({ allowed: true, now: 100, count: 1, oldest: 100 }); // Redis' answer, not the policy's
  expect(logger.lines).toEqual([]);
});

