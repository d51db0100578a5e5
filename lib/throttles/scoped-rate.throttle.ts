import type { ExecutionContext } from '@nestjs/common';
import type { ParsedRate } from './rate';
import type { ThrottleRequest } from './throttle-request';
import { SimpleRateThrottle } from './simple-rate.throttle';

/**
 * Takes its scope from the handler (`@ThrottleScope('uploads')` or
 * `@ActionConfig({ throttleScope })`), so one class gives each route or
 * action its own rate. Handlers sharing a scope share one bucket per client;
 * a handler with no scope is not throttled. Keys on the user id when
 * authenticated, else on the address.
 *
 * Unlike DRF, the scope is never written to `this` per request: the rate of
 * each scope is parsed once and kept in a map.
 */
export class ScopedRateThrottle extends SimpleRateThrottle {
  private readonly scopeRates = new Map<string, ParsedRate>();

  override checkConfiguration(handlerScope?: string): void {
    if (handlerScope) this.rateOfScope(handlerScope, true);
  }

  protected override rateFor(context: ExecutionContext): ParsedRate {
    const scope = this.runtime?.scopeOf(context);
    return scope ? this.rateOfScope(scope, false) : [null, null];
  }

  getCacheKey(request: ThrottleRequest, context: ExecutionContext): string | null {
    const scope = this.runtime?.scopeOf(context);
    if (!scope) return null;
    const userId = this.isAuthenticated(request) ? this.getUserId(request) : undefined;
    return this.formatKey(userId ?? this.getIdent(request), scope);
  }

  private rateOfScope(scope: string, fresh: boolean): ParsedRate {
    let parsed = fresh ? undefined : this.scopeRates.get(scope);
    if (parsed === undefined) {
      // DRF's get_rate/parse_rate, run for this scope without touching `this.scope`.
      const handler = Object.create(this) as ScopedRateThrottle;
      handler.scope = scope;
      parsed = handler.parseRate(handler.getRate());
      this.scopeRates.set(scope, parsed);
    }
    return parsed;
  }
}
