import type { HitResult } from '../stores/throttle-store';

/** One decision: the store's answer, the rate it was made against and the scope (wait, headers, events). */
export interface RateDecision extends HitResult {
  readonly numRequests: number;
  readonly duration: number;
  readonly scope: string | undefined;
  /** The key counted, as the store got it. Events carry only its hash: it holds an address or a user id. */
  readonly key: string;
}
