/**
 * What the module's `throttledException` option is told about a refused
 * request, to build the app's own 429 from: who refused, with what counts,
 * and how long to wait. Types only, so the options can name them.
 */
import type { ExecutionContext } from '@nestjs/common';

/** One throttle that refused the request. */
export interface RefusingThrottle {
  /** The throttle's class name. */
  readonly throttle: string;
  /** Its scope (`anon`, `user`, a `@ThrottleScope`), if it has one. */
  readonly scope: string | undefined;
  /**
   * HMAC-SHA256 of the client's cache key, as decision events carry it (docs/metrics.md), never the key
   * itself, which holds an address or a user id; `null` for a throttle without a key.
   */
  readonly keyHash: string | null;
  /** Requests counted in the window when it refused (the limit, for a client at it); `null` without a rate. */
  readonly hits: number | null;
  /** The rate it held the request to: `limit` requests per `duration` seconds; `null` without a rate. */
  readonly limit: number | null;
  readonly duration: number | null;
  /** Its own wait in seconds (DRF's formula, not rounded), or `null` when it has no estimate. */
  readonly wait: number | null;
}

/** A refused request, as `throttledException(info)` gets it. */
export interface ThrottledInfo {
  /** The request's context: HTTP, GraphQL, WebSocket or microservice (`context.getType()`). */
  readonly context: ExecutionContext;
  /** The handler, as in events and messages: `ArticlesController.list`. */
  readonly route: string;
  /** Whole seconds until a retry may succeed, as `Retry-After` says it, or `null` when unknown. */
  readonly wait: number | null;
  /** The throttles that refused, in declared order (at least one). */
  readonly throttles: readonly RefusingThrottle[];
}

/** The module's `throttledException` option: the error a refused request is answered with. */
export type ThrottledExceptionFactory = (info: ThrottledInfo) => Error;
