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
  };
}
