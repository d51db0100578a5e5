import { AnonRateThrottle, UserRateThrottle, type RestflowThrottleOptions } from 'restflow-throttle';
import type { SampleCaches } from '../cache';
import type { SampleSettings } from '../config/sample-settings';
import { SAMPLE_BLOCK_DURATIONS, SAMPLE_RATES } from './rates';

/**
 * DRF's `REST_FRAMEWORK` throttle settings for the sample, built by the
 * `forRootAsync` factory from injected settings and caches:
 *
 * ```python
 * REST_FRAMEWORK = {
 *     "DEFAULT_THROTTLE_CLASSES": ["...AnonRateThrottle", "...UserRateThrottle"],
 *     "DEFAULT_THROTTLE_RATES": {...},
 *     "NUM_PROXIES": None,
 * }
 * ```
 */
export function throttlingOptions(settings: SampleSettings, caches: SampleCaches): RestflowThrottleOptions {
  return {
    defaultThrottles: [AnonRateThrottle, UserRateThrottle],
    rates: SAMPLE_RATES,
    numProxies: settings.numProxies,
    cache: caches.cache,
    caches: caches.caches,
    // Beyond DRF: IETF RateLimit-Policy / RateLimit headers on every throttled route (docs/headers.md).
    headers: 'ietf',
    // Beyond DRF: a client refused in `verify` stays refused for an hour (docs/costs-and-blocks.md).
    blockDurations: SAMPLE_BLOCK_DURATIONS,
    // With Redis (docs/faults.md, docs/caches.md): while Redis is out, each process limits on its own memory at
    // its share of every rate, and goes back to Redis when it recovers; a key Redis refused is answered in process
    // until its wait ends (refusalCache, on by default, written out here to be seen).
    ...(settings.redisUrl === undefined
      ? {}
      : { onCacheError: 'local' as const, localFallback: { processes: settings.processes }, refusalCache: true }),
  };
}
