/**
 * restflow-throttle: Django REST framework's throttling for NestJS.
 * Everything public is exported here; the README maps each name to DRF.
 */
export { RestflowThrottleModule } from './module/restflow-throttle.module';
export type {
  CacheErrorPolicy,
  LocalFallbackOption,
  RateLimitHeaders,
  RestflowThrottleAsyncOptions,
  RestflowThrottleOptions,
  RestflowThrottleOptionsFactory,
  ThrottleCache,
  ThrottleCacheLike,
} from './module/options';
export { RESTFLOW_THROTTLE_CACHE, RESTFLOW_THROTTLE_OPTIONS } from './module/constants';
export { ThrottleGuard } from './guard/throttle.guard';
export type { RefusingThrottle, ThrottledExceptionFactory, ThrottledInfo } from './guard/throttled-info';

export { Throttle } from './decorators/throttle.decorator';
export { SkipThrottle } from './decorators/skip-throttle.decorator';
export { ThrottleCost } from './decorators/throttle-cost.decorator';
export type { RequestCost, RequestCostFunction } from './throttles/request-cost';
export type { BlockDuration } from './throttles/block-duration';
export { ThrottleScope } from './decorators/throttle-scope.decorator';
export { ActionConfig, type ActionConfigMap, type ActionConfigOptions } from './decorators/action-config.decorator';

export { BaseThrottle, type RouteInfo, type ThrottleType } from './throttles/base.throttle';
export { SimpleRateThrottle, type PlannedHit, type RateDecision } from './throttles/simple-rate.throttle';
export { computeWait } from './throttles/rate';
export { AnonRateThrottle } from './throttles/anon-rate.throttle';
export { UserRateThrottle } from './throttles/user-rate.throttle';
export { ScopedRateThrottle } from './throttles/scoped-rate.throttle';
export { FailedAttemptsThrottle, type AttemptKey, type AttemptOutcome } from './throttles/failed-attempts.throttle';
export { parseRate, type ParsedRate } from './throttles/rate';
export { hashIdent } from './identity/cache-key';
export { ClientAddressUnknownError, ConnectionResetError } from './identity/client-ident';
export type { ThrottleRequest, ThrottleUser } from './identity/throttle-request';

export { ThrottledException } from './exceptions/throttled.exception';
export { ThrottledExceptionFilter } from './exceptions/throttled-exception.filter';
export { ImproperlyConfiguredError } from './exceptions/improperly-configured.error';
export type { ConfigErrorCode } from './exceptions/error-codes';
export { CacheUnavailableException } from './exceptions/cache-unavailable.exception';

export { MemoryThrottleStore } from './stores/memory/memory.store';
export type { HitResult, KeySpec, StoreHit, ThrottleAlgorithm, ThrottleStore } from './stores/throttle-store';
export { ThrottleSettings } from './module/settings';
export { ThrottleStores } from './module/caches';
export { ThrottleAdmin } from './admin/throttle-admin';
export type { ThrottleClient } from './admin/admin-client';
export type { ThrottleRef } from './admin/client-buckets';
export type { ThrottleClientState } from './admin/client-state';

export {
  ThrottleEvents,
  type CacheOutageEvent,
  type ThrottleDecisionEvent,
  type ThrottleEventListener,
} from './events/throttle-events';
export { ManualClock, resetThrottles } from './testing';
export { throttleConnection, type ThrottledGateway, type UpgradeRequest } from './contexts/ws-connection';
export type { RedisClientLike } from './stores/redis/clients/redis-client-like';
export { ThrottledGraphQLError, UnavailableGraphQLError } from './contexts/graphql.context';
export { WsThrottleRequest, type WsThrottledPayload } from './contexts/ws.context';
export { RpcThrottleRequest } from './contexts/rpc.context';
export { THROTTLED_CODE, type FailurePayload, type ThrottledPayload } from './contexts/throttled-payload';
