import type { ExecutionContext } from '@nestjs/common';
import type { HitResult } from '../stores/throttle-store';
import { isThenable } from '../thenable';

/** One decision: the store's answer, the rate it was made against and the scope (wait, headers, events). */
export interface RateDecision extends HitResult {
  readonly numRequests: number;
  readonly duration: number;
  readonly scope: string | undefined;
  /** The key counted, as the store got it. Events carry only its hash: it holds an address or a user id. */
  readonly key: string;
}

/** What the guard does with a decision that had to wait; `decide()` keeps it as it is. */
export type Then<T> = (decision: RateDecision | null, context: ExecutionContext) => T;

/** `decide()`'s `then`: the decision as it is. */
export function same(decision: RateDecision | null): RateDecision | null {
  return decision;
}

/** A decision made at once (`true`: admitted, details not asked for), or a pending one with `then` applied. */
export type Decided<T> = RateDecision | null | true | PromiseLike<T>;

/** `then` applied to a decision made at once (never a brief one); a pending one already has it in its chain. */
export function settle<T>(outcome: Decided<T>, then: Then<T>, context: ExecutionContext): T | PromiseLike<T> {
  return isThenable(outcome) ? outcome : then(outcome as RateDecision | null, context);
}

/** A store's answer with what it was decided against. */
export function decision(result: HitResult, numRequests: number, duration: number, scope: string | undefined, key: string): RateDecision {
  return { allowed: result.allowed, now: result.now, count: result.count, oldest: result.oldest, numRequests, duration, scope, key };
}
