// The Redis store: hits checked and recorded by a Lua script, batched per server (per master on a Cluster).
import type { CacheFaults } from '../cache-faults';
import type { HitResult, ThrottleAlgorithm, ThrottleStore } from '../throttle-store';
import { keySlot } from './cluster-slot';
import { NodeLane } from './node-lane';
import type { RedisConnection } from './redis-connection';
import { deleteMatching } from './redis-reset';

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

  constructor(
    private readonly connection: RedisConnection,
    private readonly faults: CacheFaults,
  ) {
    this.own = new NodeLane(connection, faults);
  }

  /** Deletes this app's throttle keys (tests), found by the patterns of the throttles' cache formats. */
  reset(keyPatterns: readonly string[]): Promise<void> {
    return deleteMatching(this.connection, keyPatterns);
  }

  hit(
    key: string,
    limit: number,
    durationSec: number,
    now: number | undefined,
    algorithm?: ThrottleAlgorithm,
  ): Promise<HitResult> {
    const algo = algorithm === 'gcra' ? 'g' : 's';
    if (!this.connection.cluster)
      return this.own.hit({ key, slot: 0, limit, duration: durationSec, now, algorithm: algo });
    const slot = keySlot(key);
    return this.laneOf(slot).hit({ key, slot, limit, duration: durationSec, now, algorithm: algo });
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
    const created = new NodeLane(this.connection, this.faults.forNode(master));
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
