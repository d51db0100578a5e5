import fc from 'fast-check';
import { MemoryThrottleStore } from 'restflow-throttle';

/** The log as DRF states it, with the key's expiry (`duration` after its last admission): a plain array, filtered. */
class PlainLog {
  private stamps: number[] = [];
  private expiresAt = -Infinity;
  hit(
    limit: number,
    duration: number,
    now: number,
  ): { allowed: boolean; now: number; count: number; oldest: number | null } {
    if (this.expiresAt <= now) this.stamps = [];
    this.stamps = this.stamps.filter((stamp) => stamp > now - duration);
    if (this.stamps.length >= limit)
      return { allowed: false, now, count: this.stamps.length, oldest: this.stamps[0] ?? null };
    this.stamps.push(now);
    this.expiresAt = now + duration;
    return { allowed: true, now, count: this.stamps.length, oldest: this.stamps[0] };
  }
}

describe('MemoryThrottleStore', () => {
  it('is a sliding log: drops timestamps <= now - duration, records only admitted requests', () => {
    const store = new MemoryThrottleStore();
    expect(store.hit('k', 2, 10, 0)).toEqual({ allowed: true, now: 0, count: 1, oldest: 0 });
    expect(store.hit('k', 2, 10, 5)).toEqual({ allowed: true, now: 5, count: 2, oldest: 0 });
    expect(store.hit('k', 2, 10, 9)).toEqual({ allowed: false, now: 9, count: 2, oldest: 0 });
    // At t=10 the entry of t=0 is out (<= now - duration), the denied one was never recorded.
    expect(store.hit('k', 2, 10, 10)).toEqual({ allowed: true, now: 10, count: 2, oldest: 5 });
  });

  it('a limit of 0 denies with an empty history', () => {
    expect(new MemoryThrottleStore().hit('k', 0, 60, 1)).toEqual({ allowed: false, now: 1, count: 0, oldest: null });
  });

  it('handles a limit of 100 000 exactly', () => {
    const store = new MemoryThrottleStore();
    let admitted = 0;
    for (let i = 0; i < 100_001; i++) if (store.hit('hot', 100_000, 60, 1 + i * 1e-6).allowed) admitted++;
    expect(admitted).toBe(100_000);
    // One window later everything has expired and the log starts again.
    expect(store.hit('hot', 100_000, 60, 62)).toMatchObject({ allowed: true, count: 1 });
  });

  it('keeps a long-running key compact while it slides', () => {
    const store = new MemoryThrottleStore();
    for (let i = 0; i < 10_000; i++) expect(store.hit('k', 10, 1, i * 0.2).allowed).toBe(true);
    expect(store.hit('k', 10, 1, 2000).count).toBeLessThanOrEqual(10);
  });

  it('is bounded in keys: the least recently used goes first', () => {
    const store = new MemoryThrottleStore(3);
    store.hit('a', 5, 60, 0);
    store.hit('b', 5, 60, 0);
    store.hit('c', 5, 60, 0);
    store.hit('a', 5, 60, 1); // a is now the most recent
    store.hit('d', 5, 60, 1); // evicts b
    expect(store.size).toBe(3);
    expect(store.hit('b', 5, 60, 2).count).toBe(1); // fresh
    expect(store.hit('a', 5, 60, 2).count).toBe(3); // kept its history
  });

  it('sweeps expired keys without timers', () => {
    const store = new MemoryThrottleStore();
    for (let i = 0; i < 100; i++) store.hit(`k${i}`, 5, 1, 0);
    for (let i = 0; i < 60; i++) store.hit('live', 1000, 1, 5 + i * 0.01);
    expect(store.size).toBeLessThan(100);
  });

  it('its ring of stamps wraps, grows and shrinks without changing an answer (a sliding stream that speeds up and slows down)', () => {
    // Each segment: hits at one pace; a window holds duration / gap of them, so the log slides (the ring
    // wraps), fills up faster (it grows while wrapped) or empties (it shrinks). Lulls let whole keys expire.
    const segment = fc.record({
      hits: fc.integer({ min: 1, max: 120 }),
      gap: fc.oneof(
        fc.integer({ min: 0, max: 100 }).map((ms) => ms / 1000),
        fc.integer({ min: 0, max: 300 }).map((cs) => cs / 100),
        fc.constant(40),
      ),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.constantFrom(10, 30),
        fc.array(segment, { minLength: 1, maxLength: 10 }),
        (limit, duration, segments) => {
          const store = new MemoryThrottleStore();
          const model = new PlainLog();
          let now = 1000;
          for (const { hits, gap } of segments) {
            for (let i = 0; i < hits; i++) {
              now += gap;
              expect(store.hit('k', limit, duration, now)).toEqual(model.hit(limit, duration, now));
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rejects a non-positive bound', () => {
    expect(() => new MemoryThrottleStore(0)).toThrow(RangeError);
  });

  it('a limit of 0 keeps no state', () => {
    const store = new MemoryThrottleStore();
    store.hit('k', 0, 60, 1);
    store.hit('g', 0, 60, 1, 'gcra');
    expect(store.size).toBe(0);
  });

  it('reads its clock when no time is passed (one clock for everything)', () => {
    let now = 100;
    const store = new MemoryThrottleStore(100, () => now);
    expect(store.hit('k', 1, 10, undefined)).toEqual({ allowed: true, now: 100, count: 1, oldest: 100 });
    now = 109;
    expect(store.hit('k', 1, 10, undefined).allowed).toBe(false);
    now = 110;
    expect(store.hit('k', 1, 10, undefined)).toEqual({ allowed: true, now: 110, count: 1, oldest: 110 });
  });

  it('reset() forgets every count, of both algorithms', () => {
    const store = new MemoryThrottleStore();
    store.hit('log', 1, 60, 0);
    store.hit('gcra', 1, 60, 0, 'gcra');
    expect(store.hit('log', 1, 60, 1).allowed).toBe(false);
    expect(store.hit('gcra', 1, 60, 1, 'gcra').allowed).toBe(false);
    store.reset();
    expect(store.size).toBe(0);
    expect(store.hit('log', 1, 60, 2).allowed).toBe(true);
    expect(store.hit('gcra', 1, 60, 2, 'gcra').allowed).toBe(true);
    expect(store.size).toBe(2);
  });

  it('GCRA: a burst of limit, then one per duration/limit, with DRF-shaped results', () => {
    const store = new MemoryThrottleStore(); // 2 per 10 s: T = 5
    expect(store.hit('k', 2, 10, 0, 'gcra')).toEqual({ allowed: true, now: 0, count: 1, oldest: -5 });
    expect(store.hit('k', 2, 10, 0, 'gcra')).toEqual({ allowed: true, now: 0, count: 2, oldest: -5 });
    // Denied: count = limit, oldest = nextAllowedAt (5) - duration.
    expect(store.hit('k', 2, 10, 1, 'gcra')).toEqual({ allowed: false, now: 1, count: 2, oldest: -5 });
    expect(store.hit('k', 2, 10, 5, 'gcra')).toMatchObject({ allowed: true, count: 2 });
    expect(store.hit('k', 2, 10, 9.9, 'gcra').allowed).toBe(false);
  });

  it('GCRA keys are bounded and swept like logs, kept for a duration after their last admission', () => {
    const store = new MemoryThrottleStore(3);
    for (const key of ['a', 'b', 'c', 'd']) store.hit(key, 5, 60, 0, 'gcra');
    expect(store.size).toBe(3);
    store.hit('e', 5, 60, 59.9, 'gcra'); // evicts b (a went first); nothing expired yet
    expect(store.size).toBe(3);
    store.hit('f', 5, 60, 60, 'gcra'); // c and d expire at 60 and are swept
    expect(store.size).toBe(2);
  });

  it('one key used by both algorithms starts afresh on a switch instead of misreading the other state', () => {
    const store = new MemoryThrottleStore();
    store.hit('k', 1, 60, 0);
    expect(store.hit('k', 1, 60, 1, 'gcra').allowed).toBe(true);
    expect(store.hit('k', 1, 60, 2, 'gcra').allowed).toBe(false);
    expect(store.hit('k', 1, 60, 3).allowed).toBe(true);
    expect(store.size).toBe(1);
  });
});

/**
 * Issue 24 item 3, as the attack: with one LRU for every scope, a flood of distinct keys in one scope (password
 * resets for made-up e-mails) evicted the counts of every other scope and of the flooded scope's refused clients.
 */
describe.each(['sliding-log', 'gcra'] as const)('MemoryThrottleStore under a flood of new keys (%s)', (algorithm) => {
  const flood = (store: MemoryThrottleStore, scope: string, keys: number, now: number) => {
    let admitted = 0;
    for (let i = 0; i < keys; i++) {
      if (store.hit(`throttle_${scope}_flood${i}@example.com`, 5, 3600, now, algorithm, scope).allowed) admitted++;
    }
    return admitted;
  };

  it('5 000 new keys in one scope reset no client of another scope, at its limit or not', () => {
    const store = new MemoryThrottleStore(1000);
    for (let i = 0; i < 5; i++) store.hit('throttle_login_victim', 5, 3600, 0, algorithm, 'login');
    expect(store.hit('throttle_login_other', 5, 3600, 0, algorithm, 'login').count).toBe(1);
    expect(flood(store, 'reset', 5000, 1)).toBe(5000);
    expect(store.hit('throttle_login_victim', 5, 3600, 2, algorithm, 'login').allowed).toBe(false);
    expect(store.hit('throttle_login_other', 5, 3600, 2, algorithm, 'login').count).toBe(2);
    expect(store.size).toBe(1002);
  });

  it('nor a client of the flooded scope who is refused: keys with room left go first', () => {
    const store = new MemoryThrottleStore(1000);
    for (let i = 0; i < 5; i++) store.hit('throttle_reset_victim@example.com', 5, 3600, 0, algorithm, 'reset');
    expect(flood(store, 'reset', 5000, 1)).toBe(5000);
    expect(store.hit('throttle_reset_victim@example.com', 5, 3600, 2, algorithm, 'reset').allowed).toBe(false);
    expect(store.size).toBe(1000);
  });

  it('nor any of many refused clients, whatever their place among the keys with room', () => {
    const store = new MemoryThrottleStore(100);
    const victims = Array.from({ length: 30 }, (_, i) => `throttle_reset_victim${i}@example.com`);
    for (let round = 0; round < 3; round++) {
      for (const victim of victims) {
        for (let i = 0; i < (round === 2 ? 5 : 1); i++) store.hit(victim, 5, 3600, round, algorithm, 'reset');
      }
      expect(flood(store, 'reset', 20, round + 0.5)).toBe(20); // keys with room between and after the victims
    }
    expect(flood(store, 'reset', 5000, 3)).toBe(5000);
    for (const victim of victims) expect(store.hit(victim, 5, 3600, 4, algorithm, 'reset').allowed).toBe(false);
  });

  it('a scope whose keys are all at their limit refuses a new key, stores nothing, and only in that scope', () => {
    const store = new MemoryThrottleStore(3);
    for (const key of ['a', 'b', 'c']) expect(store.hit(key, 1, 60, 0, algorithm, 'reset').allowed).toBe(true);
    // Refused as a client at its limit is (DRF's wait: the whole duration), rather than evicting one.
    expect(store.hit('d', 1, 60, 1, algorithm, 'reset')).toEqual({ allowed: false, now: 1, count: 1, oldest: null });
    expect(store.size).toBe(3);
    for (const key of ['a', 'b', 'c']) expect(store.hit(key, 1, 60, 2, algorithm, 'reset').allowed).toBe(false);
    expect(store.hit('e', 1, 60, 2, algorithm, 'login').allowed).toBe(true);
    expect(store.size).toBe(4);
  });

  it('a key whose limit has passed since its last hit makes room before the new key is refused', () => {
    // 2 per 60 s. The log: a at its limit until 60 (kept until 90), b until 80. GCRA (a burst of 2, then one
    // every 30 s): a until 30 (kept until 60), b until 50.
    const [a, b] =
      algorithm === 'gcra'
        ? [
            [0, 0],
            [20, 20],
          ]
        : [
            [0, 30],
            [20, 50],
          ];
    const roomAt = algorithm === 'gcra' ? 31 : 61;
    const store = new MemoryThrottleStore(2);
    for (const at of a) store.hit('a', 2, 60, at, algorithm, 's');
    for (const at of b) store.hit('b', 2, 60, at, algorithm, 's');
    expect(store.hit('c', 2, 60, roomAt - 2, algorithm, 's').allowed).toBe(false);
    expect(store.hit('c', 2, 60, roomAt, algorithm, 's').allowed).toBe(true); // a had room again: a goes
    expect(store.hit('b', 2, 60, roomAt + 1, algorithm, 's').allowed).toBe(false); // b is still at its limit
    expect(store.hit('a', 2, 60, roomAt + 1, algorithm, 's')).toMatchObject({ allowed: true, count: 1 }); // fresh
  });
});

describe('MemoryThrottleStore bounds', () => {
  it('keeps maxKeys keys per scope; hits that name no scope share one', () => {
    const store = new MemoryThrottleStore(2);
    for (const key of ['a1', 'a2', 'a3']) store.hit(key, 5, 60, 0, 'sliding-log', 'a');
    for (const key of ['b1', 'b2', 'b3']) store.hit(key, 5, 60, 0, 'sliding-log', 'b');
    for (const key of ['n1', 'n2', 'n3']) store.hit(key, 5, 60, 0);
    expect(store.size).toBe(6);
    expect(store.hit('a1', 5, 60, 1, 'sliding-log', 'a').count).toBe(1); // evicted by a3: fresh
    expect(store.hit('b3', 5, 60, 1, 'sliding-log', 'b').count).toBe(2);
  });

  it('a refused first hit stores nothing', () => {
    const store = new MemoryThrottleStore(10);
    for (let i = 0; i < 100; i++) store.hit(`k${i}`, 0, 60, 0, i % 2 === 0 ? 'gcra' : 'sliding-log', 'a');
    expect(store.size).toBe(0);
  });
});

/**
 * Issue 24 item 3, `countRefused: false`: a request refused by one throttle costs the others nothing. hitAll()
 * used to take back the admitted hits' counts but leave their new keys stored (a flood of made-up e-mails from a
 * refused address still filled the reset scope), and an admitted new key could evict a key with room left.
 */
describe.each(['sliding-log', 'gcra'] as const)('MemoryThrottleStore.hitAll, refused (%s)', (algorithm) => {
  const other = algorithm === 'gcra' ? 'sliding-log' : 'gcra';
  const hit = (key: string, scope: string, limit = 5, extra: object = {}) => ({
    key,
    limit,
    durationSec: 60,
    algorithm,
    scope,
    ...extra,
  });
  /** A store whose `refused` key (scope `anon`) is at its limit: any request that hits it is refused. */
  const withRefusedClient = (maxKeys?: number) => {
    const store = new MemoryThrottleStore(maxKeys);
    expect(store.hit('refused', 1, 60, 0, algorithm, 'anon').allowed).toBe(true);
    return store;
  };

  it('stores no new key of the throttle that admitted it', () => {
    const store = withRefusedClient();
    for (let i = 0; i < 100; i++) {
      const results = store.hitAll([hit('refused', 'anon', 1), hit(`made-up-${i}`, 'reset')], 1);
      expect(results.map((r) => r.allowed)).toEqual([false, true]);
      expect(results[1]).toEqual({ allowed: true, now: 1, count: 0, oldest: null });
    }
    expect(store.size).toBe(1);
    expect(store.has('made-up-0')).toBe(false);
    expect(store.hit('made-up-0', 5, 60, 2, algorithm, 'reset').count).toBe(1);
  });

  it('evicts no key of a full scope, though the new key would have taken the place of one with room', () => {
    const store = withRefusedClient(2);
    for (const key of ['x', 'y']) store.hit(key, 5, 60, 0, algorithm, 'reset');
    for (let i = 0; i < 10; i++) store.hitAll([hit(`made-up-${i}`, 'reset'), hit('refused', 'anon', 1)], 1);
    expect([store.has('x'), store.has('y'), store.size]).toEqual([true, true, 3]);
    expect(store.hit('x', 5, 60, 2, algorithm, 'reset').count).toBe(2);
  });

  it('leaves a held key as it was: its count, its expiry and its place among the keys of its scope', () => {
    const store = withRefusedClient(2);
    store.hit('older', 5, 60, 0, algorithm, 'reset');
    store.hit('newer', 5, 60, 0, algorithm, 'reset');
    expect(store.hitAll([hit('older', 'reset'), hit('refused', 'anon', 1)], 50).map((r) => r.allowed)).toEqual([
      true,
      false,
    ]);
    // Still the least recently used: a new key takes its place, not the newer one's.
    expect(store.hit('new', 5, 60, 51, algorithm, 'reset').allowed).toBe(true);
    expect([store.has('older'), store.has('newer')]).toEqual([false, true]);
    // Its expiry was not pushed to 110: swept with the others at 60 (every 16th hit sweeps a scope in turn).
    const kept = withRefusedClient();
    kept.hit('key', 5, 60, 0, algorithm, 'reset');
    kept.hitAll([hit('key', 'reset'), hit('refused', 'anon', 1)], 50);
    for (let i = 0; i < 32; i++) kept.hit('refused', 1, 60, 61, algorithm, 'anon');
    expect(kept.has('key')).toBe(false);
  });

  it("keeps a held key's count of the other algorithm", () => {
    const store = withRefusedClient();
    store.hit('switching', 5, 60, 0, other, 'reset');
    store.hitAll([hit('switching', 'reset'), hit('refused', 'anon', 1)], 1);
    expect(store.hit('switching', 5, 60, 2, other, 'reset')).toMatchObject({ allowed: true, count: 2 });
  });

  it('a new key that finds no room refuses the request: nothing recorded, stored or evicted', () => {
    const store = new MemoryThrottleStore(1);
    store.hit('at-limit', 1, 60, 0, algorithm, 'full');
    store.hit('with-room', 5, 60, 0, algorithm, 'room');
    const results = store.hitAll([hit('new-a', 'room'), hit('new-b', 'full', 1)], 1);
    expect(results).toEqual([
      { allowed: true, now: 1, count: 0, oldest: null },
      { allowed: false, now: 1, count: 1, oldest: null },
    ]);
    expect([store.has('with-room'), store.has('new-a'), store.has('new-b'), store.size]).toEqual([
      true,
      false,
      false,
      2,
    ]);
    expect(store.hit('with-room', 5, 60, 2, algorithm, 'room').count).toBe(2);
  });

  it("keeps a held key of the other algorithm when the request's new key finds no room (fast-check's case)", () => {
    const store = new MemoryThrottleStore(1);
    store.hit('switching', 5, 60, 0, other, 'full');
    // The switching key takes the place of its old entry; the new one finds none and refuses the request.
    const results = store.hitAll([hit('switching', 'full'), hit('new', 'full')], 1);
    expect(results.map((r) => r.allowed)).toEqual([true, false]);
    expect(store.has('new')).toBe(false);
    expect(store.hit('switching', 5, 60, 2, other, 'full')).toMatchObject({ allowed: true, count: 2 });
  });

  it('keeps the place of each key the request held when its new key finds no room', () => {
    const store = new MemoryThrottleStore(2);
    store.hit('older', 5, 60, 0, algorithm, 'reset');
    store.hit('newer', 5, 60, 0, algorithm, 'reset');
    store.hit('at-limit', 1, 60, 0, algorithm, 'full');
    store.hit('at-limit-too', 1, 60, 0, algorithm, 'full');
    const results = store.hitAll([hit('older', 'reset'), hit('new', 'full')], 1);
    expect(results.map((r) => r.allowed)).toEqual([true, false]);
    // Still the least recently used, with its one record: a new key takes its place, not the newer one's.
    expect(store.hit('new', 5, 60, 2, algorithm, 'reset').allowed).toBe(true);
    expect([store.has('older'), store.has('newer')]).toEqual([false, true]);
  });

  it("never evicts a key the request decided on for the request's own new key: refused instead", () => {
    const store = new MemoryThrottleStore(1);
    store.hit('mine', 5, 60, 0, algorithm, 's');
    const results = store.hitAll([hit('mine', 's'), hit('new', 's')], 1);
    expect(results.map((r) => r.allowed)).toEqual([true, false]);
    expect(store.has('new')).toBe(false);
    expect(store.hit('mine', 5, 60, 2, algorithm, 's')).toMatchObject({ allowed: true, count: 2 });
  });

  it('stores no key for a look, and a look needs no room in a full scope (as alone)', () => {
    const store = new MemoryThrottleStore(1);
    store.hit('at-limit', 1, 60, 0, algorithm, 's');
    const results = store.hitAll([hit('looked-at', 's', 5, { cost: 0 }), hit('other', 't')], 1);
    expect(results.map((r) => r.allowed)).toEqual([true, true]);
    expect([store.has('looked-at'), store.has('other'), store.has('at-limit')]).toEqual([false, true, true]);
  });

  it("keeps the block a refusal started on a key the request itself made, and the key's count at none", () => {
    const store = new MemoryThrottleStore();
    const results = store.hitAll([hit('twice', 's', 1), hit('twice', 's', 1, { blockSec: 100 })], 0);
    expect(results.map((r) => r.allowed)).toEqual([true, false]);
    expect(store.has('twice')).toBe(true);
    expect(store.hit('twice', 1, 60, 99, algorithm, 's').allowed).toBe(false);
    expect(store.hit('twice', 1, 60, 100, algorithm, 's')).toMatchObject({ allowed: true, count: 1 });
  });
});
