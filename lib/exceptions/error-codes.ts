/**
 * The stable codes of configuration errors: the one list of them. Each is
 * documented under its own heading in docs/errors.md (a test keeps the two
 * in step), and an {@link ImproperlyConfiguredError} carries one, so logs,
 * alerts and tests can match on the code while the message stays free to
 * say more.
 */

/** Every configuration error code, each with what it means in one line. */
export const CONFIG_ERROR_CODES = {
  RFT_MISSING_SCOPE_OR_RATE: 'A SimpleRateThrottle has neither a `scope` nor a `rate`.',
  RFT_MISSING_RATE: "A throttle's scope has no entry in the module's `rates`.",
  RFT_INVALID_RATE: 'A rate is not "<requests>/<period>" (in `rates`, a throttle\'s `rate`, or parseRate()).',
  RFT_RATE_OUT_OF_RANGE: "A rate's period is longer than every store can hold (about 142 000 years).",
  RFT_INVALID_REQUEST_RATE: 'getRequestRate() returned something that is not a rate: that request answers 500.',
  RFT_UNKNOWN_OPTION: 'forRoot() was given an option it does not know (a typo, or an option of another library).',
  RFT_INVALID_OPTION: 'A module option has the wrong type or is out of range.',
  RFT_INVALID_LOCAL_FALLBACK:
    "`localFallback` is not `{ processes: <whole number >= 1> }`, or is set without `onCacheError: 'local'`.",
  RFT_INVALID_CACHE: 'A cache is neither a cache-manager cache, a Redis client nor a ThrottleStore.',
  RFT_INVALID_SKIP_OPTION: '`skipIf` is not a function, or `ignoreUserAgents` is not an array of regular expressions.',
  RFT_UNSUPPORTED_CLIENT: 'A Redis client of a kind the module cannot drive (node-redis createSentinel()).',
  RFT_DEFAULT_CACHE_CONFLICT: '`cache` and `caches.default` name two different caches.',
  RFT_UNKNOWN_CACHE_ALIAS: "A throttle's `cache` names an alias that `caches` does not define.",
  RFT_CACHE_OUTSIDE_MODULE: 'A throttle names a cache but is used without RestflowThrottleModule.',
  RFT_NOT_A_THROTTLE: 'Something used as a throttle is not a class extending BaseThrottle.',
  RFT_THROTTLE_NOT_INJECTABLE: 'A throttle with constructor parameters has no @Injectable().',
  RFT_THROTTLE_UNBUILDABLE: 'Nest cannot build a throttle (a dependency it cannot resolve, or its constructor threw).',
  RFT_ROUTE_REFUSED: "A throttle's forRoute() refused a route it was put on.",
  RFT_PEER_DECORATOR:
    "A decorator was given @nestjs/throttler's options (`@Throttle({ default: ... })`, `@SkipThrottle({ short: true })`).",
  RFT_UNTHROTTLEABLE_HANDLER: 'Throttles are declared on a method the module cannot run them on.',
  RFT_ROUTE_NOT_PLANNED: 'ThrottleGuard ran on a handler the module did not plan (before app.init(), or unregistered).',
  RFT_ASYNC_OPTIONS: 'forRootAsync() needs exactly one of useFactory, useClass or useExisting.',
  RFT_RESET_UNSUPPORTED: 'resetThrottles() met a store that cannot forget its counts.',
  RFT_ADMIN_INVALID_ARGUMENT: 'ThrottleAdmin was given a throttle, a client or a block duration it cannot use.',
  RFT_ADMIN_UNKNOWN_THROTTLE: 'ThrottleAdmin was asked about a throttle (class or scope) that no route counts with.',
  RFT_ADMIN_NOT_COUNTED: 'ThrottleAdmin was asked about a client the throttle does not count (no key, or a null rate).',
  RFT_ADMIN_AMBIGUOUS: 'ThrottleAdmin.state() met several buckets for one client (per-route keys): name the route.',
  RFT_ADMIN_UNSUPPORTED: 'ThrottleAdmin met a store without the forget() or block() it needs.',
  RFT_INVALID_BLOCK_DURATION: "A `blockDuration` or a `blockDurations` entry is not a duration such as '15m'.",
  RFT_INVALID_THROTTLE_COST: '`@ThrottleCost()` is not a whole number >= 0 or a function, or is more than the limit.',
  RFT_INVALID_REQUEST_COST: 'A cost asked of a request is not a whole number >= 0: that request answers 500.',
  RFT_COUNT_REFUSED_STORES: '`countRefused: false` on a route whose rate throttles count in different stores.',
  RFT_HIT_ALL_UNSUPPORTED: '`countRefused: false` on a route whose store has no `hitAll()`.',
  RFT_CLUSTER_CROSS_SLOT: '`countRefused: false` on Redis Cluster met a request whose keys are in different slots.',
  RFT_ATTEMPTS_NOT_HTTP: 'FailedAttemptsThrottle is used on a handler that is not an HTTP route.',
  RFT_ATTEMPTS_STORE_UNSUPPORTED:
    "FailedAttemptsThrottle's store cannot give an attempt back (no refund() or forget()).",
} as const;

/** A configuration error code, such as `'RFT_MISSING_RATE'`; docs/errors.md says what to do about each. */
export type ConfigErrorCode = keyof typeof CONFIG_ERROR_CODES;
