import type { ExecutionContext } from '@nestjs/common';
import type { ThrottleCache } from '../restflow-throttle.options';
import type { ThrottleStore } from '../stores/throttle-store';

/**
 * What the module hands every throttle once, at startup: the settings DRF
 * reads from `api_settings`, and the stores. Throttles hold it instead of
 * taking it through their constructor, so a subclass needs none.
 */
export interface ThrottleRuntime {
  readonly rates: Readonly<Record<string, string | null>>;
  readonly numProxies: number | undefined;
  /** The store for a cache or alias (`undefined` = the default cache). Throws for an unknown alias. */
  storeFor(cache: ThrottleCache | string | undefined): ThrottleStore;
  /** Called when a request carries X-Forwarded-For that the configuration ignores; warns once. */
  forwardedForIgnored(): void;
  /** The handler's resolved throttle scope (`@ThrottleScope`/`@ActionConfig`), resolved at startup. */
  scopeOf(context: ExecutionContext): string | undefined;
}

/** Symbol under which the module attaches the runtime; not part of a throttle's public surface. */
export const ATTACH_RUNTIME = Symbol('restflow:attach-runtime');
