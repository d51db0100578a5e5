// The Redis store: hits checked and recorded by a Lua script, batched per server (per master on a Cluster).
import { ImproperlyConfiguredError } from '../../exceptions/improperly-configured.error';
import type { CacheFaults } from '../cache-faults';
import type { HitResult, KeySpec, StoreHit, ThrottleAlgorithm, ThrottleStore } from '../throttle-store';
import { keySlot } from './cluster-slot';
import { KeyAdmin } from './key-admin';
import { type QueuedHit, queuedHit } from './hit-queue';
import { NodeLane } from './node-lane';
import type { RedisConnection } from './redis-connection';
import { deleteMatching } from './redis-reset';
import type { RefusalCache } from './refusal-cache';
import type { HitExtra } from './script-protocol';

/**
 * Lanes kept for Cluster masters at most. A Cluster has at most about a
 * thousand masters, and lanes of masters that serve no slot any more are
 * forgotten; past this, new masters share the store's own lane.
 */
const MAX_LANES = 1024;
/** While some master is down, how often the client's slot map is read for masters that serve no slot any more. */
const TOPOLOGY_CHECK_MS = 1000;

/**
 * Check-and-record on Redis: a batch of hits is one run of one Lua script
 * (throttle-script.lua.ts: DRF's sliding log, or GCRA, per hit), atomic and
 * timed by the server's `TIME`, so any number of processes share one limit.
 * Hits go out in batches, at most two out at once: every hit that arrived
 * meanwhile, as one EVALSHA, with one deadline ({@link CacheFaults}); a hit
 * costs one promise and its few arguments, no timer, no command of its own.
 * What one client can queue is bounded (hit-queue.ts): a hit beyond it is
 * refused as an overload of its key, never a cache fault. The batching, the
 * deadline and the late-write guard are a {@link NodeLane}'s.
 *
 * On a single server every hit takes the one lane. On a Cluster each hit
 * takes the lane of the master its key's slot is on, as the client's slot
 * map says at that moment (so MOVED and failovers the client learns are
 * followed at once): each master has its own queue, its own two batches
 * out, its own deadline and its own outage ({@link CacheFaults.forNode}), so
 * a master that hangs or dies costs only the hits on its slots, and the
 * warnings name it. A master that stops serving slots (its replica was
 * promoted) ends its outage and is forgotten. Hits whose slot the client
 * cannot place yet (before its first slot map) take the store's own lane.
 *
 * A hit's cost and block ride with it (script-protocol.ts `HitExtra`; a
 * plain hit carries none), and so does an all-or-none request
 * ({@link hitAll}): its hits queue together and one script decides them
 * (throttle-script.lua.ts). A key's block lives in its own value
 * (block.lua.ts), so refunds, blocks and forgets touch one key
 * ({@link KeyAdmin}: they reject on a fault, deciding no request).
 *
 * The rules when Redis fails are in docs/faults.md.
 */
export class RedisThrottleStore implements ThrottleStore {
  readonly ownClock = true;
  /** A single server's lane; on a Cluster, that of hits the client cannot place on a master yet. */
  private readonly own: NodeLane;
  /** The Cluster masters' lanes by `host:port`, each made at its master's first hit. */
  private readonly lanes = new Map<string, NodeLane>();
  /** `performance.now()` at the last look for masters that serve no slot any more. */
  private checkedAt = Number.NEGATIVE_INFINITY;
  private readonly admin: KeyAdmin;

  /** @param refusals the refusals this process remembers (`refusalCache: false`: none, Redis decides every hit). */
  constructor(
    private readonly connection: RedisConnection,
    private readonly faults: CacheFaults,
    readonly refusals?: RefusalCache,
  ) {
    this.own = new NodeLane(connection, faults, refusals);
    this.admin = new KeyAdmin(connection, faults.timeoutMs);
  }

  /** Deletes this app's throttle keys (tests), found by the patterns of the throttles' cache formats. */
  reset(keyPatterns: readonly string[]): Promise<void> {
    this.refusals?.clear();
    return deleteMatching(this.connection, keyPatterns);
  }

  hit(
    key: string,
    limit: number,
    durationSec: number,
    now: number | undefined,
    algorithm?: ThrottleAlgorithm,
    scope?: string,
    cost?: number,
    blockSec?: number,
  ): HitResult | Promise<HitResult> {
    const algo = algorithm === 'gcra' ? 'g' : 's';
    const extra = (cost === undefined || cost === 1) && !blockSec ? undefined : extraOf(cost, blockSec, 0);
    const slot = this.connection.cluster ? keySlot(key) : 0;
    const hit = queuedHit(key, slot, scope, limit, durationSec, now, algo, extra);
    const known = this.refusals?.answer(hit);
    if (known !== undefined) return known;
    return (this.connection.cluster ? this.laneOf(slot) : this.own).hit(hit);
  }

  /**
   * One request's hits, all or none, in one script run. On a Cluster its keys must share a slot (a script's keys
   * must): a request whose keys do not is refused with `RFT_CLUSTER_CROSS_SLOT` rather than decided in parts.
   */
  hitAll(hits: readonly StoreHit[], now: number | undefined): HitResult[] | Promise<HitResult[]> {
    if (hits.length === 0) return [];
    const slot = this.connection.cluster ? keySlot(hits[0].key) : 0;
    const lane: QueuedHit[] = [];
    for (let i = 0; i < hits.length; i++) {
      const { key, scope, limit, durationSec, algorithm, cost, blockSec } = hits[i];
      if (this.connection.cluster && i > 0 && keySlot(key) !== slot) return Promise.reject(crossSlot(hits[0].key, key));
      const algo = algorithm === 'gcra' ? 'g' : 's';
      const extra = extraOf(cost, blockSec, i === 0 ? hits.length : 0);
      lane.push(queuedHit(key, slot, scope, limit, durationSec, now, algo, extra));
    }
    // Every key known refused: Redis would refuse each and record none.
    const known = this.refusals?.answerAll(lane);
    if (known !== undefined) return known;
    return (this.connection.cluster ? this.laneOf(slot) : this.own).hitAll(lane);
  }

  refund(key: string, cost: number, spec: KeySpec, now: number | undefined): Promise<void> {
    this.refusals?.drop(key);
    return this.admin.refund(key, cost, spec, now);
  }

  block(key: string, seconds: number, spec: KeySpec, now: number | undefined): Promise<void> {
    this.refusals?.drop(key);
    return this.admin.block(key, seconds, spec, now);
  }

  forget(key: string): Promise<void> {
    this.refusals?.drop(key);
    return this.admin.forget(key);
  }

  /** The lane of the master serving `slot` now. */
  private laneOf(slot: number): NodeLane {
    const master = this.connection.masterOf(slot);
    if (master === undefined) return this.own;
    const lane = this.lanes.get(master);
    if (lane !== undefined) {
      if (performance.now() - this.checkedAt >= TOPOLOGY_CHECK_MS) this.forgetGoneMasters(false);
      return lane;
    }
    // A master not seen before: the slot map changed (a failover), or the store is starting.
    this.forgetGoneMasters(this.lanes.size >= MAX_LANES);
    if (this.lanes.size >= MAX_LANES) return this.own;
    const created = new NodeLane(this.connection, this.faults.forNode(master), this.refusals);
    this.lanes.set(master, created);
    return created;
  }

  /**
   * Forgets the lanes of masters that serve no slot in the client's map any more, ending their outage
   * with a warning if they had one: their keys are the new masters' now, and nothing else would ever end
   * it. Only while a lane is down (or when the lanes are at their bound, `always`), so that healthy
   * Clusters never pay for reading the slot map.
   */
  private forgetGoneMasters(always: boolean): void {
    this.checkedAt = performance.now();
    let due = always;
    for (const lane of this.lanes.values()) due ||= lane.faults.isDown;
    if (!due) return;
    const masters = new Set(this.connection.masters());
    if (masters.size === 0) return; // no slot map (yet): nothing to compare with
    for (const [master, lane] of this.lanes) {
      if (masters.has(master)) continue;
      this.lanes.delete(master);
      lane.faults.retired();
    }
  }
}

function extraOf(cost: number | undefined, blockSec: number | undefined, unit: number): HitExtra {
  return { cost: cost ?? 1, blockSec: blockSec ?? 0, unit };
}

/** A request decided all or none on a Cluster whose keys live in two slots: no one script may touch both. */
function crossSlot(first: string, other: string): ImproperlyConfiguredError {
  return new ImproperlyConfiguredError(
    `A request decided all or none (countRefused: false) has keys in two Redis Cluster slots ('${first}' and ` +
      `'${other}'), which no one script can decide atomically. Give the route's throttles a hash tag that is the ` +
      "same for all of one request's keys, such as the client's ident: cacheFormat 'throttle_{scope}_{{ident}}' " +
      "(docs/caches.md, 'Redis Cluster').",
    'RFT_CLUSTER_CROSS_SLOT',
  );
}
