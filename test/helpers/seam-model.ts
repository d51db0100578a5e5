/**
 * The store seam (lib/stores/throttle-store.ts) written as literally as possible, for property tests: costs,
 * looks, blocks, hitAll, refund, block and forget on plain arrays (the sliding log, oldest first, filtered on
 * every call) and GCRA's one number (the operations of test/helpers/gcra-model.ts, with `cost` intervals).
 * Each result says why it was decided, so a test can check the reported wait against a brute-force one.
 */
import { gcraSlack } from '../../lib/stores/algorithms';
import type { HitResult, KeySpec, StoreHit, ThrottleAlgorithm } from '../../lib/stores/throttle-store';

/** Why a hit was decided so: admitted, a block, its count, a cost above the limit, or as DRF (limit 0, log over it). */
export type Why = 'fits' | 'blocked' | 'count' | 'never' | 'drf';

export interface ModelResult extends HitResult {
  readonly why: Why;
}

interface KeyState {
  /** The log's stamps, oldest first. */
  stamps: number[];
  /** GCRA's theoretical arrival time; `-Infinity` never admitted. */
  tat: number;
  blockedUntil: number;
}

export class SeamModel {
  private keys = new Map<string, KeyState>();

  constructor(private readonly algorithm: ThrottleAlgorithm) {}

  hit(key: string, limit: number, duration: number, now: number, cost = 1, blockSec = 0): ModelResult {
    return this.decide(this.state(key), limit, duration, now, cost, blockSec);
  }

  /** All or none: decided in order on copies; kept if all are admitted, else the originals with the new blocks. */
  hitAll(hits: readonly StoreHit[], now: number): ModelResult[] {
    const copies = new Map([...new Set(hits.map((h) => h.key))].map((key) => [key, structuredClone(this.state(key))]));
    const results = hits.map((h) =>
      this.decide(copies.get(h.key)!, h.limit, h.durationSec, now, h.cost ?? 1, h.blockSec ?? 0),
    );
    if (results.every((r) => r.allowed)) {
      for (const [key, copy] of copies) this.keys.set(key, copy);
      return results;
    }
    for (const [key, copy] of copies) this.state(key).blockedUntil = copy.blockedUntil;
    return results.map((r, i) => (r.allowed ? this.standing(hits[i], now) : r));
  }

  refund(key: string, cost: number, spec: KeySpec, now: number): void {
    const s = this.state(key);
    if (this.algorithm === 'sliding-log') {
      s.stamps = s.stamps.filter((t) => t > now - spec.durationSec);
      s.stamps = s.stamps.slice(0, Math.max(0, s.stamps.length - cost));
    } else if (spec.limit > 0 && s.tat > now) {
      s.tat = Math.max(s.tat - cost * (spec.durationSec / spec.limit), now);
    }
  }

  block(key: string, seconds: number, now: number): void {
    const s = this.state(key);
    s.blockedUntil = Math.max(s.blockedUntil, now + seconds);
  }

  forget(key: string): void {
    this.keys.delete(key);
  }

  /** The log's stamps still in the window at `now`, oldest first (for brute-force waits). */
  stampsOf(key: string, duration: number, now: number): number[] {
    return this.state(key).stamps.filter((t) => t > now - duration);
  }

  private decide(s: KeyState, limit: number, duration: number, now: number, cost: number, blockSec: number) {
    const result = (allowed: boolean, count: number, oldest: number | null, why: Why): ModelResult => ({
      allowed,
      now,
      count,
      oldest,
      why,
    });
    const blocked = () => result(false, limit, s.blockedUntil - duration, 'blocked');
    const need = Math.max(cost, 1);
    if (this.algorithm === 'sliding-log') {
      s.stamps = s.stamps.filter((t) => t > now - duration);
      const n = s.stamps.length;
      const oldest = n > 0 ? s.stamps[0] : null;
      if (s.blockedUntil > now) return blocked();
      if (n + need <= limit) {
        for (let i = 0; i < cost; i++) s.stamps.push(now);
        return result(true, s.stamps.length, s.stamps.length > 0 ? s.stamps[0] : null, 'fits');
      }
      if (limit <= 0) return result(false, n, oldest, 'drf');
      if (cost > limit) return result(false, Math.max(n, limit + 1), oldest, 'never');
      // Room for `need` once all but `limit - need` of the stamps have left: the one at n + need - limit.
      const freeing = s.stamps[n + need - limit - 1];
      if (blockSec > 0) {
        s.blockedUntil = Math.max(s.blockedUntil, now + blockSec, freeing + duration);
        return blocked();
      }
      return n > limit ? result(false, n, oldest, 'drf') : result(false, limit, freeing, 'count');
    }
    if (s.blockedUntil > now) return blocked();
    if (limit <= 0) return result(false, 0, null, 'drf');
    const T = duration / limit;
    const slack = gcraSlack(limit, T);
    const tat = Math.max(s.tat, now);
    if (tat + need * T - now <= duration + slack) {
      if (cost === 0) return gcraStanding(tat, limit, duration, now, 'fits');
      s.tat = tat + cost * T;
      const count = Math.min(limit, Math.ceil((s.tat - now - slack) / T));
      return result(true, count, s.tat - duration - (count - 1) * T, 'fits');
    }
    if (cost > limit) return result(false, limit + 1, null, 'never');
    const nextAllowedAt = tat + need * T - duration;
    if (blockSec > 0) {
      s.blockedUntil = Math.max(s.blockedUntil, now + blockSec, nextAllowedAt);
      return blocked();
    }
    return result(false, limit, nextAllowedAt - duration, 'count');
  }

  /** An admitted look's report, the block not asked. */
  private standing(h: StoreHit, now: number): ModelResult {
    const s = this.state(h.key);
    if (this.algorithm === 'sliding-log') {
      const live = s.stamps.filter((t) => t > now - h.durationSec);
      return { allowed: true, now, count: live.length, oldest: live.length > 0 ? live[0] : null, why: 'fits' };
    }
    if (h.limit <= 0) return { allowed: true, now, count: 0, oldest: null, why: 'fits' };
    return gcraStanding(Math.max(s.tat, now), h.limit, h.durationSec, now, 'fits');
  }

  private state(key: string): KeyState {
    let s = this.keys.get(key);
    if (s === undefined) {
      s = { stamps: [], tat: -Infinity, blockedUntil: -Infinity };
      this.keys.set(key, s);
    }
    return s;
  }
}

function gcraStanding(tat: number, limit: number, duration: number, now: number, why: Why): ModelResult {
  const T = duration / limit;
  const count = Math.max(0, Math.min(limit, Math.ceil((tat - now - gcraSlack(limit, T)) / T)));
  return { allowed: true, now, count, oldest: count > 0 ? tat - duration - (count - 1) * T : null, why };
}
