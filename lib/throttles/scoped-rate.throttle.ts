/** DRF's `ScopedRateThrottle`: the rate of the route's own scope, per user or per address. */
import type { ExecutionContext } from '@nestjs/common';
import type { BaseThrottle, RouteInfo } from './base.throttle';
import { addressKeyIdent, userKeyIdent } from '../identity/cache-key';
import type { ThrottleRequest } from '../identity/throttle-request';
import { SimpleRateThrottle } from './simple-rate.throttle';

/**
 * Takes its scope from the route (`@ThrottleScope('uploads')` or
 * `@ActionConfig({ throttleScope })`), so one class gives each route its own
 * rate. Routes sharing a scope share one bucket per client; a route with no
 * scope is not throttled by it. Keys on the user id when authenticated,
 * else on the address, each in its own key space (`user:<id>`, `ip:<address>`).
 *
 * DRF sets `self.scope` on every request; here each route gets, once at
 * startup, a view of the singleton with its scope set, so nothing is looked
 * up or written per request.
 */
export class ScopedRateThrottle extends SimpleRateThrottle {
  override forRoute(route: RouteInfo): BaseThrottle | null {
    if (!route.scope) {
      // DRF's default classes often include ScopedRateThrottle for the views that set a scope; only a declared one is a mistake.
      if (route.declared)
        this.settings?.logger.warn(
          `${route.name} uses ${this.constructor.name} but has no throttle scope (@ThrottleScope or @ActionConfig({ throttleScope })), so it is not throttled by it.`,
        );
      return null;
    }
    const view = Object.create(this) as ScopedRateThrottle;
    view.scope = route.scope;
    return SimpleRateThrottle.prototype.forRoute.call(view, route);
  }

  getCacheKey(request: ThrottleRequest, context?: ExecutionContext): string | null {
    void context;
    if (!this.scope) return null;
    const userId = this.isAuthenticated(request) ? this.getUserId(request) : undefined;
    return this.formatKey(userId !== undefined ? userKeyIdent(userId) : addressKeyIdent(this.getIdent(request)));
  }
}
