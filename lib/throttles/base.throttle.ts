/** DRF's `BaseThrottle`: the root of every throttle (allow or deny, and how long to wait). */
import { Inject, Optional, type ExecutionContext } from '@nestjs/common';
import { ThrottleSettings } from '../module/settings';
import { addressIdent, clientIdent } from '../identity/client-ident';
import type { ThrottleRequest } from '../identity/throttle-request';
import type { RequestCost } from './request-cost';

/** What a route tells its throttles once, at startup (DRF reads the same from the view). */
export interface RouteInfo {
  /** `ArticlesController.list`, for messages. */
  readonly name: string;
  /** The route's resolved throttle scope (`@ThrottleScope`, `@ActionConfig`), if any. */
  readonly scope: string | undefined;
  /** `true` when the route declares its throttles (`@Throttle`, `@ActionConfig`), `false` for the module's defaults. */
  readonly declared: boolean;
  /** What kind of handler the route is: an HTTP route, a GraphQL resolver, a gateway or a microservice handler. */
  readonly kind?: 'http' | 'graphql' | 'ws' | 'rpc';
  /** What each request of the route counts as (`@ThrottleCost()`), if the route says; else 1. */
  readonly cost?: RequestCost;
}

/**
 * The root of every throttle, as DRF's `BaseThrottle`: decide whether a
 * request may go on, and say how long a denied client should wait.
 *
 * A throttle is a singleton shared by concurrent requests, so it keeps no
 * per-request state on `this`. Its settings come through Nest's DI as a
 * property, so a subclass needs no constructor (and may have its own).
 */
export abstract class BaseThrottle {
  /** The module's settings (rates, proxies, clock); absent when used outside the module. */
  @Optional() @Inject(ThrottleSettings) protected readonly settings?: ThrottleSettings;

  /**
   * `true` to let the request through, `false` to deny it. May be sync or
   * async (any thenable); the guard awaits either.
   */
  abstract allowRequest(request: ThrottleRequest, context: ExecutionContext): boolean | PromiseLike<boolean>;

  /** Seconds until a denied request may be retried, or `null` when unknown (no `Retry-After`). */
  wait(request?: ThrottleRequest, context?: ExecutionContext): number | null {
    void request;
    void context;
    return null;
  }

  /**
   * Identifies the client by address: the platform's `request.ip`, or DRF's
   * X-Forwarded-For rule when `numProxies` is set; IPv6 clients by prefix
   * (see docs/proxies.md).
   */
  getIdent(request: ThrottleRequest): string {
    const settings = this.settings;
    const ident = clientIdent(request, settings?.numProxies, settings?.ipv6Subnet ?? 64);
    if (
      settings !== undefined &&
      settings.numProxies === undefined &&
      request.headers?.['x-forwarded-for'] !== undefined
    ) {
      // The platform's trust-proxy setting may have used the header for request.ip; if not, say so once.
      const peer = request.socket?.remoteAddress ?? request.raw?.socket?.remoteAddress;
      if (peer !== undefined && ident === addressIdent(peer, settings.ipv6Subnet)) settings.forwardedForIgnored();
    }
    return ident;
  }

  /**
   * Called once per route that uses this throttle, at startup, with what the
   * route says (its scope). Returns the throttle to run on that route:
   * `this`, a view of it bound to the route, or `null` when the route is not
   * throttled by it. Throw an `ImproperlyConfiguredError` (code `RFT_ROUTE_REFUSED`) to stop the app
   * from starting.
   */
  forRoute(route: RouteInfo): BaseThrottle | null {
    void route;
    return this;
  }
}

/** A throttle class as the decorators and `defaultThrottles` take it. */
export type ThrottleType = new (...args: never[]) => BaseThrottle;
