/** `ThrottleAdmin`: what support staff do to one client's bucket (read it, reset it, block it), on any store. */
import { Injectable } from '@nestjs/common';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import { RoutePlans } from '../guard/route-plans';
import { ThrottleStores } from '../module/caches';
import type { ThrottleStore } from '../stores/throttle-store';
import { MAX_RATE_DURATION_SECONDS } from '../throttles/rate';
import { checkClient, checkSeconds, type ThrottleClient } from './admin-client';
import { type ClientBucket, clientBuckets, describeRef, type ThrottleRef } from './client-buckets';
import { clientState, type ThrottleClientState } from './client-state';

/**
 * Reads, resets and blocks one client's bucket of a throttle: the way
 * support staff unblock a user (docs/admin.md). Inject it anywhere in an
 * app that imports `RestflowThrottleModule`.
 *
 * A client is named as staff know it: a throttle (its class, or a scope)
 * and a user id or an IP address. The admin builds a request of that client
 * and lets each route's throttle key it (`getCacheKey()`), pick its rate
 * (`getRequestRate()` included) and its store, as the guard does for a
 * real request; so the bucket acted on is the one the client's requests
 * count in, on the memory store, a get/set cache, Redis and Redis Cluster.
 *
 * ```ts
 * await admin.state(UserRateThrottle, { user: 42 });            // used, remaining, resetAt, blockedUntil
 * await admin.reset(AnonRateThrottle, { address: '203.0.113.7' }); // let a refused client back in
 * await admin.block('uploads', { user: 42 }, 3600);              // refuse it for an hour
 * ```
 *
 * Misuse is an `ImproperlyConfiguredError` with a code (`RFT_ADMIN_*`,
 * docs/errors.md): a throttle no route uses, a client it does not count, a
 * store that cannot do what is asked.
 */
@Injectable()
export class ThrottleAdmin {
  constructor(
    private readonly plans: RoutePlans,
    private readonly stores: ThrottleStores,
  ) {}

  /**
   * The client's state in the throttle's bucket (used, remaining, reset,
   * blocked until), read with a hit of cost 0, which counts nothing.
   *
   * @throws ImproperlyConfiguredError `RFT_ADMIN_AMBIGUOUS` when the throttle keeps several buckets for the
   *   client (`{route}` in its `cacheFormat`, or a class whose routes have several scopes): name the `route`
   *   or the scope.
   */
  async state(throttle: ThrottleRef, client: ThrottleClient): Promise<ThrottleClientState> {
    const buckets = await this.bucketsOf(throttle, client);
    if (buckets.length > 1) {
      const each = buckets.map((b) => `'${b.planned.hit.key}' (${b.routes.join(', ')})`).join('; ');
      throw new ImproperlyConfiguredError(
        `ThrottleAdmin: ${describeRef(throttle)} keeps ${buckets.length} buckets for this client: ${each}. ` +
          'Name one with `route` (or by its scope), or use reset() and block(), which act on all of them.',
        'RFT_ADMIN_AMBIGUOUS',
      );
    }
    return this.look(buckets[0]);
  }

  /**
   * Forgets the client's count and any block in every bucket the throttle
   * keeps for it, so its next request is admitted; returns each bucket's
   * state after. Other processes that remember the client's refusal locally
   * (the Redis store's refusal cache) keep refusing it until that refusal
   * would have ended: see docs/admin.md.
   *
   * @throws ImproperlyConfiguredError `RFT_ADMIN_UNSUPPORTED` when a store has no `forget()` (nothing is reset).
   */
  async reset(throttle: ThrottleRef, client: ThrottleClient): Promise<ThrottleClientState[]> {
    const buckets = await this.bucketsOf(throttle, client);
    this.require(buckets, 'forget', 'reset');
    for (const { planned } of buckets) await planned.store.forget!(planned.hit.key);
    return Promise.all(buckets.map((bucket) => this.look(bucket)));
  }

  /**
   * Refuses every request of the client, in every bucket the throttle keeps
   * for it, for `seconds` from now (a longer block already there is kept);
   * each refusal answers 429 with `Retry-After` counting down to the block's
   * end, and records nothing. Returns each bucket's state after.
   *
   * @throws ImproperlyConfiguredError `RFT_ADMIN_UNSUPPORTED` when a store has no `block()` (nothing is blocked).
   */
  async block(throttle: ThrottleRef, client: ThrottleClient, seconds: number): Promise<ThrottleClientState[]> {
    checkSeconds(seconds, MAX_RATE_DURATION_SECONDS);
    const buckets = await this.bucketsOf(throttle, client);
    this.require(buckets, 'block', 'block');
    for (const bucket of buckets) {
      const { key, limit, durationSec, algorithm, scope } = bucket.planned.hit;
      await bucket.planned.store.block!(key, seconds, { limit, durationSec, algorithm, scope }, this.now(bucket));
    }
    return Promise.all(buckets.map((bucket) => this.look(bucket)));
  }

  private bucketsOf(throttle: ThrottleRef, client: ThrottleClient): Promise<ClientBucket[]> {
    if (typeof throttle !== 'string' && typeof throttle !== 'function') {
      const got = throttle === null ? 'null' : typeof throttle;
      throw new ImproperlyConfiguredError(
        `ThrottleAdmin: a throttle is named by its class or its scope, got ${got}.`,
        'RFT_ADMIN_INVALID_ARGUMENT',
      );
    }
    checkClient(client);
    return clientBuckets(this.plans.all(), throttle, client);
  }

  /** A look: a hit of cost 0, decided as a request's would be and recording nothing. */
  private async look(bucket: ClientBucket): Promise<ThrottleClientState> {
    const { key, limit, durationSec, algorithm, scope } = bucket.planned.hit;
    const result = await bucket.planned.store.hit(key, limit, durationSec, this.now(bucket), algorithm, scope, 0, 0);
    const throttle = bucket.throttle.constructor.name;
    return clientState({ throttle, scope, routes: bucket.routes, key, limit, durationSec, algorithm }, result);
  }

  /** The throttle's clock, read now; `undefined` where its hits leave the time to the store (Redis `TIME`). */
  private now(bucket: ClientBucket): number | undefined {
    return bucket.planned.now === undefined ? undefined : bucket.throttle.timer();
  }

  /** Every store must have `method` before any bucket is touched: a reset is never half done. */
  private require(buckets: readonly ClientBucket[], method: 'forget' | 'block', action: string): void {
    const lacking = buckets.map((b) => b.planned.store).filter((store) => typeof store[method] !== 'function');
    if (lacking.length === 0) return;
    const names = [...new Set(lacking)].map((store) => this.describe(store)).join(', ');
    throw new ImproperlyConfiguredError(
      `ThrottleAdmin cannot ${action} this client: the store of cache ${names} has no ${method}(). ` +
        `Give the store a ${method}() (see ThrottleStore), or use one that has it.`,
      'RFT_ADMIN_UNSUPPORTED',
    );
  }

  /** `'default' (RedisThrottleStore)`: the cache's name and the store's class. */
  private describe(store: ThrottleStore): string {
    return `'${this.stores.nameOf(store)}' (${store.constructor.name})`;
  }
}
