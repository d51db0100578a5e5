/**
 * `countRefused: false` in the guard: which routes change (several throttles, at least one a rate throttle),
 * the others asked first, one `hitAll()` for several rate throttles, and a throttle's error thrown only once
 * every call it started has settled (never a rejection left unheard).
 */
import type { ExecutionContext } from '@nestjs/common';
import { MemoryThrottleStore, type StoreHit, type ThrottleRequest, type ThrottleStore } from 'restflow-throttle';
import { decideAllOrNone, planAllOrNone } from '../../../lib/guard/all-or-none';
import type { PlannedHit, SimpleRateThrottle } from '../../../lib/throttles/simple-rate.throttle';

const request = { headers: {} } as ThrottleRequest;
const context = {} as ExecutionContext;

/** A rate step whose planHit answers `planned` (or throws / rejects), counting in `store`. */
function rateStep(store: ThrottleStore, key: string | Error | Promise<never>, name = 'R') {
  const rate = {
    constructor: { name },
    cache: undefined,
    countingStore: () => store,
    planHit: (): PlannedHit | Promise<never> => {
      if (key instanceof Error) throw key;
      if (key instanceof Promise) return key;
      const hit = {
        key,
        limit: 1,
        durationSec: 60,
        algorithm: 'sliding-log' as const,
        scope: 's',
        cost: 1,
        blockSec: 0,
      };
      return { store, now: 1000, hit };
    },
  } as unknown as SimpleRateThrottle;
  return { throttle: { allowRequest: () => true }, rate };
}

function otherStep(answer: () => boolean | Promise<boolean>) {
  return { throttle: { allowRequest: answer }, rate: undefined };
}

describe('planAllOrNone', () => {
  const store = new MemoryThrottleStore();
  it('changes nothing on a route with one throttle, or no rate throttle', () => {
    expect(planAllOrNone('A.a', [rateStep(store, 'k')])).toBeUndefined();
    expect(planAllOrNone('A.a', [otherStep(() => true), otherStep(() => true)])).toBeUndefined();
  });
  it('puts the other throttles first', () => {
    const steps = [rateStep(store, 'a'), otherStep(() => true), rateStep(store, 'b')];
    expect(planAllOrNone('A.a', steps)).toEqual({ others: [1], rates: [0, 2] });
  });
});

describe('decideAllOrNone', () => {
  it('several rate throttles: one hitAll(), nothing recorded when one refuses', () => {
    const store = new MemoryThrottleStore();
    store.hit('full', 1, 60, 1000);
    const calls: StoreHit[][] = [];
    const hitAll = store.hitAll.bind(store);
    store.hitAll = (hits, now) => (calls.push([...hits]), hitAll(hits, now));
    const steps = [rateStep(store, 'free'), rateStep(store, 'full')];
    const outcomes = decideAllOrNone(steps, planAllOrNone('A.a', steps)!, request, context) as { allowed: boolean }[];
    expect(outcomes.map((o) => o.allowed)).toEqual([true, false]);
    expect(calls.map((hits) => hits.map((h) => h.key))).toEqual([['free', 'full']]);
    // 'free' was not recorded: it still has its one request.
    expect(store.hit('free', 1, 60, 1000).allowed).toBe(true);
  });

  it('another throttle that refuses leaves the rate throttles unasked (null: not counted)', () => {
    const store = new MemoryThrottleStore();
    const steps = [rateStep(store, 'a'), rateStep(store, 'b'), otherStep(() => false)];
    expect(decideAllOrNone(steps, planAllOrNone('A.a', steps)!, request, context)).toEqual([null, null, false]);
    expect(store.hit('a', 1, 60, 1000).allowed).toBe(true);
  });

  it("a throttle's error is thrown after its async siblings settle, and only once", async () => {
    const store = new MemoryThrottleStore();
    let settled = false;
    const slow = new Promise<never>((_, reject) =>
      setTimeout(() => {
        settled = true;
        reject(new Error('slow'));
      }, 10),
    );
    const steps = [rateStep(store, new Error('first')), rateStep(store, slow)];
    const result = decideAllOrNone(steps, planAllOrNone('A.a', steps)!, request, context);
    await expect(result).rejects.toThrow('first');
    expect(settled).toBe(true);
  });

  it('a rejection of one of the other throttles is the error', async () => {
    const store = new MemoryThrottleStore();
    const steps = [rateStep(store, 'a'), otherStep(() => Promise.reject(new Error('gate down')))];
    await expect(decideAllOrNone(steps, planAllOrNone('A.a', steps)!, request, context)).rejects.toThrow('gate down');
    expect(store.hit('a', 1, 60, 1000).allowed).toBe(true);
  });
});
