import { UserRateThrottle } from 'restflow-throttle';

/**
 * The docs' `IsolatedThrottle`: its counters go to the cache registered as
 * `throttling` in the module's `caches` (DRF's `caches["throttling"]`), not
 * to the default cache, at the `isolated` rate.
 *
 * The docs' class extends `SimpleRateThrottle` without a `get_cache_key`,
 * which DRF would refuse at the first request; this one inherits
 * `UserRateThrottle`'s key (user id, else client address).
 */
export class IsolatedThrottle extends UserRateThrottle {
  override scope = 'isolated';
  override cache = 'throttling';
}
