import { ImproperlyConfiguredError } from './exceptions/improperly-configured.error';
import type { RestflowThrottleOptions, ThrottleCache } from './restflow-throttle.options';
import { parseRate } from './throttles/rate';

const KNOWN: ReadonlySet<string> = new Set<keyof RestflowThrottleOptions>([
  'defaultThrottles',
  'rates',
  'cache',
  'caches',
  'numProxies',
  'onCacheError',
  'cacheTimeoutMs',
  'memoryCacheMaxKeys',
]);

/**
 * Checks the module options before anything runs, with messages that say
 * what to fix. Every configured rate is parsed here, used or not: a typo in
 * a rate is a bug even before a route reaches it.
 */
export function validateOptions(options: RestflowThrottleOptions | undefined | null): RestflowThrottleOptions {
  const fail = (message: string): never => {
    throw new ImproperlyConfiguredError(`RestflowThrottleModule: ${message}`);
  };
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) fail('options must be an object.');
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) fail(`unknown option '${key}'; the options are ${[...KNOWN].join(', ')}.`);
  }
  const { defaultThrottles, rates, cache, caches, numProxies, onCacheError, cacheTimeoutMs, memoryCacheMaxKeys } = options;
  if (defaultThrottles !== undefined) {
    if (!Array.isArray(defaultThrottles)) fail('defaultThrottles must be an array of throttle classes.');
    defaultThrottles.forEach((type, i) => {
      if (typeof type !== 'function') fail(`defaultThrottles[${i}] is not a throttle class.`);
    });
  }
  if (rates !== undefined) {
    if (typeof rates !== 'object' || rates === null || Array.isArray(rates)) fail('rates must map scope names to rate strings.');
    for (const [scope, rate] of Object.entries(rates)) {
      if (rate !== null && typeof rate !== 'string') fail(`the rate of scope '${scope}' must be a string such as "100/hour", or null.`);
      parseRate(rate, scope);
    }
  }
  if (cache !== undefined) checkCache(cache, 'cache', fail);
  if (caches !== undefined) {
    if (typeof caches !== 'object' || caches === null || Array.isArray(caches)) fail('caches must map alias names to caches.');
    for (const [alias, named] of Object.entries(caches)) checkCache(named, `caches.${alias}`, fail);
    if (cache !== undefined && caches.default !== undefined && caches.default !== cache) {
      fail("caches.default and cache name two different caches; 'default' is the alias of cache, so set one of them.");
    }
  }
  if (numProxies !== undefined && (!Number.isInteger(numProxies) || numProxies < 0)) {
    fail(`numProxies must be a whole number >= 0 (the proxies in front of the app), got ${String(numProxies)}.`);
  }
  if (onCacheError !== undefined && onCacheError !== 'allow' && onCacheError !== 'deny') {
    fail(`onCacheError must be 'allow' or 'deny', got ${JSON.stringify(onCacheError)}.`);
  }
  if (cacheTimeoutMs !== undefined && (typeof cacheTimeoutMs !== 'number' || !(cacheTimeoutMs > 0) || !Number.isFinite(cacheTimeoutMs))) {
    fail(`cacheTimeoutMs must be a positive number of milliseconds, got ${String(cacheTimeoutMs)}.`);
  }
  if (memoryCacheMaxKeys !== undefined && (!Number.isInteger(memoryCacheMaxKeys) || memoryCacheMaxKeys < 1)) {
    fail(`memoryCacheMaxKeys must be a positive whole number, got ${String(memoryCacheMaxKeys)}.`);
  }
  return { ...options };
}

function checkCache(cache: ThrottleCache, name: string, fail: (message: string) => never): void {
  const candidate = cache as Partial<ThrottleCache> | null;
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.get !== 'function' || typeof candidate.set !== 'function') {
    fail(`${name} must be a cache-manager cache (an object with get() and set()).`);
  }
}
