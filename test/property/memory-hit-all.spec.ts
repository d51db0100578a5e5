/**
 * The memory store's all-or-none decision (`countRefused: false`, lib/stores/memory/hit-all.ts) under random
 * sequences of lone hits, requests of several hits, blocks and forgets, in small full scopes: a refused request
 * changes nothing another request could see, and the recency rings stay whole whatever happens.
 */
import fc from 'fast-check';
import { MemoryThrottleStore, type StoreHit, type ThrottleAlgorithm } from 'restflow-throttle';
import type { Partition, RingNode } from '../../lib/stores/memory/entries';
import type { KeySpace } from '../../lib/stores/memory/key-space';

const KEYS = ['a0', 'a1', 'a2', 'b0', 'b1', 'b2'];
const scopeOf = (key: string) => (key.startsWith('a') ? 'a' : 'b');

type Op =
  | { kind: 'hit'; hit: StoreHit }
  | { kind: 'all'; hits: StoreHit[] }
  | { kind: 'block'; key: string }
  | { kind: 'forget'; key: string }
  | { kind: 'wait'; seconds: number };

const hitOf = (blocks: boolean) =>
  fc
    .record({
      key: fc.constantFrom(...KEYS),
      limit: fc.integer({ min: 0, max: 3 }),
      algorithm: fc.constantFrom<ThrottleAlgorithm>('sliding-log', 'gcra'),
      cost: fc.integer({ min: 0, max: 2 }),
      blockSec: blocks ? fc.constantFrom(0, 0, 25) : fc.constant(0),
    })
    .map((h): StoreHit => ({ ...h, durationSec: 10, scope: scopeOf(h.key) }));

const ops = (blocks: boolean) =>
  fc.array(
    fc.oneof<fc.Arbitrary<Op>[]>(
      hitOf(blocks).map((hit) => ({ kind: 'hit', hit })),
      fc.array(hitOf(blocks), { minLength: 1, maxLength: 3 }).map((hits) => ({ kind: 'all', hits })),
      fc.constantFrom(...KEYS).map((key) => ({ kind: 'block', key })),
      fc.constantFrom(...KEYS).map((key) => ({ kind: 'forget', key })),
      fc.integer({ min: 1, max: 12 }).map((seconds) => ({ kind: 'wait', seconds })),
    ),
    { maxLength: 60 },
  );

/** Every ring walked both ways: each held entry in exactly one ring of its partition, counted, linked both ways. */
function checkRings(store: MemoryThrottleStore): void {
  const space = (store as unknown as { space: KeySpace }).space;
  const partitions = (space as unknown as { partitions: Map<string, Partition> }).partitions;
  const seen = new Set<unknown>();
  for (const partition of partitions.values()) {
    let count = 0;
    for (const ring of [partition.open, partition.full]) {
      let previous: RingNode = ring;
      for (let node = ring.newer; node !== ring; node = node.newer) {
        const entry = node as RingNode & { key: string; ring: unknown };
        expect(entry.older).toBe(previous);
        expect(entry.ring).toBe(ring);
        expect(space.entries.get(entry.key)).toBe(entry);
        expect(seen.has(entry)).toBe(false);
        seen.add(entry);
        previous = node;
        count++;
      }
      expect(ring.older).toBe(previous);
    }
    expect(partition.size).toBe(count);
  }
  expect(seen.size).toBe(space.entries.size);
}

function apply(store: MemoryThrottleStore, op: Op, now: number): unknown {
  switch (op.kind) {
    case 'hit': {
      const { key, limit, durationSec, algorithm, scope, cost, blockSec } = op.hit;
      return store.hit(key, limit, durationSec, now, algorithm, scope, cost, blockSec);
    }
    case 'all':
      return store.hitAll(op.hits, now);
    case 'block':
      return store.block(
        op.key,
        15,
        { limit: 2, durationSec: 10, algorithm: 'sliding-log', scope: scopeOf(op.key) },
        now,
      );
    case 'forget':
      return store.forget(op.key);
    default:
      return undefined;
  }
}

describe('MemoryThrottleStore.hitAll, random sequences in full scopes', () => {
  it('keeps every recency ring whole', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3), ops(true), (maxKeys, sequence) => {
        const store = new MemoryThrottleStore(maxKeys);
        let now = 1000;
        for (const op of sequence) {
          if (op.kind === 'wait') now += op.seconds;
          else apply(store, op, now);
          checkRings(store);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a refused request (no block in it) changes nothing: a twin that never saw it answers alike', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3), ops(false), (maxKeys, sequence) => {
        const store = new MemoryThrottleStore(maxKeys);
        const twin = new MemoryThrottleStore(maxKeys);
        let now = 1000;
        for (const op of sequence) {
          if (op.kind === 'wait') {
            now += op.seconds;
            continue;
          }
          const answer = apply(store, op, now);
          if (op.kind === 'all' && (answer as { allowed: boolean }[]).some((r) => !r.allowed)) continue;
          expect(apply(twin, op, now)).toEqual(answer);
        }
        for (const key of KEYS) {
          for (const algorithm of ['sliding-log', 'gcra'] as const) {
            const look = (s: MemoryThrottleStore) => s.hit(key, 3, 10, now, algorithm, scopeOf(key), 0);
            expect(look(store)).toEqual(look(twin));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
