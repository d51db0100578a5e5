/** Injection token of the resolved {@link RestflowThrottleOptions}. */
export const RESTFLOW_THROTTLE_OPTIONS = Symbol('RESTFLOW_THROTTLE_OPTIONS');

/** Reflect-metadata keys written by the decorators and read once per handler at startup. */
export const THROTTLES_METADATA = 'restflow:throttles';
export const THROTTLE_SCOPE_METADATA = 'restflow:throttle-scope';
export const ACTION_CONFIG_METADATA = 'restflow:action-config';
/** `@ThrottleCost()`: what each request of a handler counts as. */
export const THROTTLE_COST_METADATA = 'restflow:throttle-cost';

/** Injection token of the module's default cache, e.g. to `reset()` it between tests. */
export const RESTFLOW_THROTTLE_CACHE = Symbol('RESTFLOW_THROTTLE_CACHE');
