/**
 * How the Redis store paces its batches, against a fake connection whose
 * replies the test releases by hand: at most two batches out at once, one
 * script per batch, and hits that arrive meanwhile wait and go together;
 * what one key or one tick can queue is bounded, the excess refused as an
 * overload (not a fault); a batch's deadline counts from when its oldest
 * hit asked, on the cache's time, not the process's. On a Cluster, all of
 * this is per master: one that never answers holds only its own hits.
 */
import { CacheUnavailableException } from '../../../lib/exceptions/cache-unavailable.exception';
import { CacheFaults } from '../../../lib/stores/cache-faults';
import { keySlot } from '../../../lib/stores/redis/cluster-slot';
import { MAX_BATCH_HITS, MAX_WAITING_PER_KEY, MAX_WAITING_PER_SCOPE } from '../../../lib/stores/redis/hit-queue';
import type { RedisConnection } from '../../../lib/stores/redis/redis-connection';
import { RedisThrottleStore } from '../../../lib/stores/redis/redis.store';
import { type HitResult, monotonicSeconds } from '../../../lib/stores/throttle-store';
import { computeWait } from '../../../lib/throttles/rate';

class HeldConnection implements RedisConnection {
  readonly library = 'fake';
  readonly cluster: boolean;
  readonly sent: Array<{
    commands: ReadonlyArray<readonly string[]>;
    answer: () => void;
    /** Answers with these replies instead, one per command. */
    reply: (replies: unknown[]) => void;
    fail: () => void;
  }> = [];

  /** `slotMap`: a fake Cluster's master of each slot, which the test may change (a failover). */
  constructor(public slotMap?: (slot: number) => string) {
    this.cluster = slotMap !== undefined;
  }

  isReady(): boolean {
    return true;
  }

  masterOf(slot: number): string | undefined {
    return this.slotMap?.(slot);
  }

  masters(): string[] {
    const slotMap = this.slotMap;
    if (slotMap === undefined) return [];
    return [...new Set(Array.from({ length: 16384 }, (_, slot) => slotMap(slot)))];
  }

  send(commands: ReadonlyArray<readonly string[]>): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      // Every hit allowed, as the script would answer at server time 100.
      const replies = commands.map((command) =>
        ['100', ...Array.from({ length: Number(command[2]) }, () => '1 100 1 100')].join('\n'),
      );
      const fail = () => reject(new Error('connection reset'));
      this.sent.push({ commands, answer: () => resolve(replies), reply: resolve, fail });
    });
  }

  /** The keys of each send so far. */
  keys(): string[][] {
    return this.sent.map(({ commands }) => commands.flatMap((command) => command.slice(3, 3 + Number(command[2]))));
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
/** A script command's expiry (ARGV[1], right after its keys), in server seconds. */
const expiryOf = (command: readonly string[]) => Number(command[3 + Number(command[2])]);

it('keeps at most two batches out; hits that arrive meanwhile go together as one script when one is answered', async () => {
  const connection = new HeldConnection();
  const store = new RedisThrottleStore(
    connection,
    new CacheFaults({ name: 'fake', policy: 'allow', timeoutMs: 60_000 }),
  );
  const settled: string[] = [];
  const hit = (key: string): Promise<HitResult> =>
    Promise.resolve(store.hit(key, 5, 60, undefined)).then((result) => (settled.push(key), result));

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
  // A 429 for that key: at its limit, with a wait of one second (its queued hits are decided by then); provisional,
  // made without the key's counts, so no refusal cache remembers it.
  const refusal = { allowed: false, now: 1000, count: 100, oldest: 941, provisional: true };
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

it('a client with a new key per hit fills a batch, not the queue: other scopes queue for the next batch', async () => {
  const connection = new HeldConnection();
  const faults = new CacheFaults({ name: 'fake', policy: 'allow', timeoutMs: 60_000, logger: capture() });
  const store = new RedisThrottleStore(connection, faults);
  // One request of thousands of aliased fields, each naming another e-mail: a key per hit, in one scope.
  const flood = Array.from({ length: MAX_BATCH_HITS + 100 }, (_, i) =>
    store.hit(`reset-${i}@example.com`, 5, 3600, 1000, 'sliding-log', 'password_reset'),
  );
  // Meanwhile: clients of another scope, and a scopeless throttle's.
  const anon = Array.from({ length: 1000 }, (_, i) => store.hit(`ip-${i}`, 5, 60, 1000, 'sliding-log', 'anon'));
  const bare = Array.from({ length: 10 }, (_, i) => store.hit(`bare-${i}`, 5, 60, 1000));
  await nextTurn();
  // The batch is full of the flood; the flood's hits past it are refused as an overload, unsent.
  expect(connection.keys().map((keys) => keys.length)).toEqual([MAX_BATCH_HITS]);
  const refused = await Promise.all(flood.slice(MAX_BATCH_HITS));
  expect(refused.every((r) => !r.allowed && r.provisional === true)).toBe(true);
  // The others wait for the next batch and are decided by the cache, not refused.
  connection.sent[0].answer();
  expect((await Promise.all(flood.slice(0, MAX_BATCH_HITS))).every((r) => r.allowed)).toBe(true);
  await nextTurn();
  expect(connection.keys()[1]).toEqual([...anon.map((_, i) => `ip-${i}`), ...bare.map((_, i) => `bare-${i}`)]);
  connection.sent[1].answer();
  const decided = await Promise.all([...anon, ...bare]);
  expect(decided.every((r) => r.allowed && r.provisional === undefined)).toBe(true);
  expect(faults.isDown).toBe(false);
});

it(`past a full batch each scope queues at most ${MAX_WAITING_PER_SCOPE} more, and the queue two batches`, async () => {
  const connection = new HeldConnection();
  const faults = new CacheFaults({ name: 'fake', policy: 'deny', timeoutMs: 60_000, logger: capture() });
  const store = new RedisThrottleStore(connection, faults);
  const hitsOf = (scope: string, n: number) =>
    Array.from({ length: n }, (_, i) => store.hit(`${scope}-${i}`, 5, 60, 1000, 'sliding-log', scope));
  const flood = hitsOf('a', MAX_BATCH_HITS); // fills the batch: 'a' is over its share past it
  const [a, b, c, d] = [hitsOf('a', 1), hitsOf('b', MAX_WAITING_PER_SCOPE + 1), hitsOf('c', 2048), hitsOf('d', 1)];
  await nextTurn();
  const overloaded = async (hits: Array<HitResult | Promise<HitResult>>) =>
    (await Promise.all(hits)).map((r) => r.provisional === true);
  expect(await overloaded(a)).toEqual([true]);
  expect((await overloaded(b.slice(MAX_WAITING_PER_SCOPE))).concat(await overloaded(d))).toEqual([true, true]);
  connection.sent[0].answer();
  expect((await Promise.all(flood)).every((r) => r.allowed)).toBe(true);
  await nextTurn();
  expect(connection.keys()[1]).toHaveLength(MAX_WAITING_PER_SCOPE + 2048); // b's share and c: two batches queued
  connection.sent[1].answer();
  const queued = [...b.slice(0, MAX_WAITING_PER_SCOPE), ...c];
  expect((await Promise.all(queued)).every((r) => r.allowed)).toBe(true);
  expect(faults.isDown).toBe(false);
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
  const queued = Promise.resolve(store.hit('c', 5, 60, undefined)).then((result) => ({
    result,
    ms: performance.now() - askedAt,
  }));
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

// A first reply that asks for a second round trip, read once the deadline fell due (the process was busy past it):
// the resend leaves from the poll phase right before the deadline's check, and no reply to it can be there yet.
// - NOSCRIPT (a fresh server): timed by the wall clock, the check took a live server for a dead one.
// - Refused as late (Redis ran the script after the batch's expiry: a slow write, a clock step).
// Either way the resend must carry the time the deadline has left from now: the batch's first expiry went by while
// the process was busy, and Redis would refuse the resend as late (then the same again: an outage of a server that
// answered every time).
it.each([
  {
    first: 'NOSCRIPT',
    reply: () => new Error('NOSCRIPT No matching script. Please use EVAL.'),
    resentAs: 'EVAL',
  },
  {
    first: 'refused as late',
    reply: (firstExpiry: number) => `x ${(firstExpiry + 0.001).toFixed(6)}`, // the server's clock is this process'
    resentAs: 'EVALSHA',
  },
])(
  'a resend after a busy stretch is not an outage: $first read once the deadline fell due, the resend decided',
  async ({ reply, resentAs }) => {
    const connection = new HeldConnection();
    const logger = capture();
    const faults = new CacheFaults({ name: 'fake', policy: 'allow', timeoutMs: 200, logger });
    const store = new RedisThrottleStore(connection, faults);
    const hit = store.hit('a', 5, 60, undefined);
    await nextTurn();
    const firstExpiry = expiryOf(connection.sent[0].commands[0]);
    busy(300);
    connection.sent[0].reply([reply(firstExpiry)]);
    await nextTurn();
    await nextTurn();
    expect(connection.sent.map(({ commands }) => commands[0][0])).toEqual(['EVALSHA', resentAs]);
    expect(expiryOf(connection.sent[1].commands[0])).toBeGreaterThan(monotonicSeconds());
    await sleep(20);
    connection.sent[1].answer();
    expect(await hit).toEqual({ allowed: true, now: 100, count: 1, oldest: 100 }); // Redis' answer, not the policy's
    expect(logger.lines).toEqual([]);
  },
);

describe('on a Cluster, each master has its own queue, batches, deadline and outage', () => {
  /** Three masters, as a Cluster of three splits its slots. */
  const threeMasters = (slot: number) => (slot < 5461 ? 'a:1' : slot < 10923 ? 'b:2' : 'c:3');
  let fresh = 0;
  /** A key never used before whose slot `master` serves in `slotMap`. */
  const keyOn = (master: string, slotMap: (slot: number) => string = threeMasters): string => {
    for (;;) {
      const key = `k${fresh++}`;
      if (slotMap(keySlot(key)) === master) return key;
    }
  };
  /** The master each send went to, by the slot of its first key. */
  const mastersOf = (connection: HeldConnection) => connection.keys().map((keys) => threeMasters(keySlot(keys[0])));

  it('a master that never answers holds only its own hits: the others are sent at once and decided', async () => {
    const connection = new HeldConnection(threeMasters);
    const logger = capture();
    const faults = new CacheFaults({ name: 'fake', policy: 'deny', timeoutMs: 100, logger });
    const store = new RedisThrottleStore(connection, faults);
    // Two turns of hits on a: its two batches are out, and its third waits for them.
    const onA = [store.hit(keyOn('a:1'), 5, 60, undefined)];
    await nextTurn();
    onA.push(store.hit(keyOn('a:1'), 5, 60, undefined));
    await nextTurn();
    onA.push(store.hit(keyOn('a:1'), 5, 60, undefined));
    const onB = store.hit(keyOn('b:2'), 5, 60, undefined);
    await nextTurn();
    expect(mastersOf(connection)).toEqual(['a:1', 'a:1', 'b:2']); // b's hit did not wait behind a's batches
    connection.sent[2].answer();
    expect(await onB).toEqual({ allowed: true, now: 100, count: 1, oldest: 100 });
    const answered = await Promise.allSettled(onA);
    expect(answered.map((a) => a.status === 'rejected' && a.reason instanceof CacheUnavailableException)).toEqual([
      true,
      true,
      true,
    ]);
    expect(logger.lines).toEqual([
      "Throttle cache 'fake' node a:1 is unavailable (no answer within 100 ms); " +
        'answering 503 for its keys until it recovers.',
    ]);
    // a hangs: its hits are answered at once (but for a probe a second); b's are still sent and decided.
    const later = Promise.allSettled([
      store.hit(keyOn('a:1'), 5, 60, undefined),
      store.hit(keyOn('b:2'), 5, 60, undefined),
    ]);
    await nextTurn();
    expect(mastersOf(connection)).toEqual(['a:1', 'a:1', 'b:2', 'b:2']);
    connection.sent[3].answer();
    const [a, b] = await later;
    expect([a.status, b.status === 'fulfilled' && b.value.count]).toEqual(['rejected', 1]);
    expect(faults.isDown).toBe(false); // the store's own state: no master's outage is the whole cache's
  });

  it("one send per master per batch, one script per slot: a slot's hits share a script, in their order", async () => {
    const connection = new HeldConnection(threeMasters);
    const store = new RedisThrottleStore(
      connection,
      new CacheFaults({ name: 'fake', policy: 'deny', timeoutMs: 60_000 }),
    );
    const tagged = ['{t}:1', '{t}:2', '{t}:1']; // one slot, by the hash tag
    const master = threeMasters(keySlot('{t}'));
    const other = keyOn(master);
    const elsewhere = keyOn(master === 'a:1' ? 'b:2' : 'a:1');
    const hits = [...tagged, other, elsewhere].map((key) => store.hit(key, 5, 60, undefined));
    await nextTurn();
    expect(
      connection.sent.map(({ commands }) => commands.map((command) => command.slice(3, 3 + Number(command[2])))),
    ).toEqual([[tagged, [other]], [[elsewhere]]]);
    for (const send of connection.sent) send.answer();
    expect((await Promise.all(hits)).every((r) => r.allowed && r.count === 1)).toBe(true);
  });

  it('a master whose slots moved (a failover) ends its outage, named, and its keys go to the new one', async () => {
    const connection = new HeldConnection(threeMasters);
    const logger = capture();
    const events: string[] = [];
    const onOutage = (state: string, _reason?: string, node?: string) => events.push(`${state} ${node}`);
    const faults = new CacheFaults({ name: 'fake', policy: 'allow', timeoutMs: 50, logger, onOutage });
    const store = new RedisThrottleStore(connection, faults);
    const key = keyOn('a:1');
    expect(await store.hit(key, 5, 60, undefined)).toMatchObject({ allowed: true, count: 0 }); // a never answers
    // a's replica, d:4, is promoted: the client's slot map says so, and the next hit on a's slots goes there.
    const promoted = (slot: number) => (threeMasters(slot) === 'a:1' ? 'd:4' : threeMasters(slot));
    connection.slotMap = promoted;
    const hit = store.hit(key, 5, 60, undefined);
    await nextTurn();
    expect(connection.keys().at(-1)).toEqual([key]);
    connection.sent.at(-1)?.answer();
    expect(await hit).toEqual({ allowed: true, now: 100, count: 1, oldest: 100 });
    expect(logger.lines.slice(1)).toEqual([
      "Throttle cache 'fake' node a:1 serves no slot any more (failed over or resharded); " +
        'its keys are decided by the masters that took them over.',
    ]);
    expect(events).toEqual(['down a:1', 'up a:1']);
  });

  it("a dead master's hits answered by its successor (rerouted by the client) end its outage as retired", async () => {
    const connection = new HeldConnection(threeMasters);
    const logger = capture();
    const store = new RedisThrottleStore(
      connection,
      new CacheFaults({ name: 'fake', policy: 'allow', timeoutMs: 60_000, logger }),
    );
    const first = store.hit(keyOn('a:1'), 5, 60, undefined);
    await nextTurn();
    connection.sent[0].fail(); // a is gone
    expect(await first).toMatchObject({ allowed: true, count: 0 });
    const second = store.hit(keyOn('a:1'), 5, 60, undefined); // queued for a, in a's lane
    await nextTurn();
    connection.slotMap = (slot) => (threeMasters(slot) === 'a:1' ? 'd:4' : threeMasters(slot)); // d:4 promoted
    connection.sent[1].answer(); // the client sent it to d:4, which decided it
    expect(await second).toMatchObject({ allowed: true, count: 1 });
    expect(logger.lines.map((line) => /is unavailable|available again|serves no slot/.exec(line)?.[0])).toEqual([
      'is unavailable',
      'serves no slot',
    ]);
  });
});
