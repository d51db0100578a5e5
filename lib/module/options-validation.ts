/** Checks the module options at startup, so a wrong one stops the app instead of turning a limit off. */
import type { ConfigErrorCode } from '../exceptions/error-codes';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import type { RestflowThrottleOptions } from './options';
import { parseRate } from '../throttles/rate';
import { parseBlockDuration } from '../throttles/block-duration';

const KNOWN: ReadonlySet<string> = new Set<keyof RestflowThrottleOptions>([
  'defaultThrottles',
  'rates',
  'blockDurations',
  'countRefused',
  'cache',
  'caches',
  'numProxies',
  'ipv6Subnet',
  'onCacheError',
  'localFallback',
  'cacheTimeoutMs',
  'refusalCache',
  'memoryCacheMaxKeys',
  'headers',
  'clock',
  'events',
  'eventKeySecret',
  'skipIf',
  'ignoreUserAgents',
  'throttledException',
]);

/** setTimeout's largest delay: a larger one silently becomes 1 ms. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Checks the module options before anything runs, with messages that say
 * what to fix. Every configured rate is parsed here, used or not: a typo in
 * a rate is a bug even before a route reaches it.
 */
export function validateOptions(options: RestflowThrottleOptions | undefined | null): RestflowThrottleOptions {
  const fail = (message: string, code: ConfigErrorCode = 'RFT_INVALID_OPTION'): never => {
    throw new ImproperlyConfiguredError(`RestflowThrottleModule: ${message}`, code);
  };
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) fail('options must be an object.');
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      fail(`unknown option '${key}'; the options are ${[...KNOWN].join(', ')}.`, 'RFT_UNKNOWN_OPTION');
    }
  }
  const o = options;
  if (o.defaultThrottles !== undefined) {
    if (!Array.isArray(o.defaultThrottles)) fail('defaultThrottles must be an array of throttle classes.');
    o.defaultThrottles.forEach((type, i) => {
      if (typeof type !== 'function') fail(`defaultThrottles[${i}] is not a throttle class.`, 'RFT_NOT_A_THROTTLE');
    });
  }
  if (o.rates !== undefined) {
    if (!isPlainMap(o.rates)) fail('rates must map scope names to rate strings.');
    for (const [scope, rate] of Object.entries(o.rates)) {
      if (rate !== null && typeof rate !== 'string') {
        fail(`the rate of scope '${scope}' must be a string such as "100/hour", or null.`, 'RFT_INVALID_RATE');
      }
      parseRate(rate, scope);
    }
  }
  if (o.blockDurations !== undefined) {
    if (!isPlainMap(o.blockDurations)) {
      fail("blockDurations must map scope names to durations such as '15m'.", 'RFT_INVALID_BLOCK_DURATION');
    }
    for (const [scope, block] of Object.entries(o.blockDurations)) parseBlockDuration(block, `blockDurations.${scope}`);
  }
  if (o.countRefused !== undefined && typeof o.countRefused !== 'boolean') {
    fail(`countRefused must be true or false, got ${JSON.stringify(o.countRefused) ?? typeof o.countRefused}.`);
  }
  if (o.cache !== undefined) checkCache(o.cache, 'cache', fail);
  if (o.caches !== undefined) {
    if (!isPlainMap(o.caches)) fail('caches must map alias names to caches.');
    for (const [alias, named] of Object.entries(o.caches)) checkCache(named, `caches.${alias}`, fail);
    if (o.cache !== undefined && o.caches.default !== undefined && o.caches.default !== o.cache) {
      fail(
        "caches.default and cache name two different caches; 'default' is the alias of cache, so set one of them.",
        'RFT_DEFAULT_CACHE_CONFLICT',
      );
    }
  }
  if (o.numProxies !== undefined && !(Number.isInteger(o.numProxies) && o.numProxies >= 0)) {
    fail(`numProxies must be a whole number >= 0 (the proxies in front of the app), got ${String(o.numProxies)}.`);
  }
  if (
    o.ipv6Subnet !== undefined &&
    o.ipv6Subnet !== false &&
    !(Number.isInteger(o.ipv6Subnet) && o.ipv6Subnet >= 1 && o.ipv6Subnet <= 128)
  ) {
    fail(
      `ipv6Subnet must be a prefix length from 1 to 128, or false to key each IPv6 address; got ${String(o.ipv6Subnet)}.`,
    );
  }
  if (o.onCacheError !== undefined && !['allow', 'deny', 'local'].includes(o.onCacheError)) {
    fail(`onCacheError must be 'allow', 'deny' or 'local', got ${JSON.stringify(o.onCacheError)}.`);
  }
  checkLocalFallback(o, fail);
  if (
    o.cacheTimeoutMs !== undefined &&
    !(Number.isInteger(o.cacheTimeoutMs) && o.cacheTimeoutMs >= 1 && o.cacheTimeoutMs <= MAX_TIMEOUT_MS)
  ) {
    fail(
      `cacheTimeoutMs must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, got ${String(o.cacheTimeoutMs)}.`,
    );
  }
  if (o.refusalCache !== undefined && typeof o.refusalCache !== 'boolean') {
    const hint = typeof o.refusalCache === 'string' ? ' (a string from the environment: compare it with "false")' : '';
    fail(`refusalCache must be true or false, got ${JSON.stringify(o.refusalCache) ?? typeof o.refusalCache}${hint}.`);
  }
  if (o.memoryCacheMaxKeys !== undefined && !(Number.isInteger(o.memoryCacheMaxKeys) && o.memoryCacheMaxKeys >= 1)) {
    fail(`memoryCacheMaxKeys must be a positive whole number, got ${String(o.memoryCacheMaxKeys)}.`);
  }
  if (o.headers !== undefined && o.headers !== false && o.headers !== 'ietf' && o.headers !== 'legacy') {
    fail(`headers must be false, 'ietf' or 'legacy', got ${JSON.stringify(o.headers)}.`);
  }
  if (o.clock !== undefined && typeof o.clock !== 'function') fail('clock must be a function returning seconds.');
  if (o.events !== undefined) {
    const listeners: unknown[] = Array.isArray(o.events) ? o.events : [o.events];
    for (const [i, l] of listeners.entries()) {
      if (isListener(l)) continue;
      const where = Array.isArray(o.events) ? `[${i}]` : '';
      fail(`events${where} must be an object with a decision() and/or cacheOutage() method.`);
    }
  }
  if (o.eventKeySecret !== undefined && !(typeof o.eventKeySecret === 'string' && o.eventKeySecret !== '')) {
    fail('eventKeySecret must be a non-empty string.');
  }
  checkSkipOptions(o, fail);
  if (o.throttledException !== undefined && typeof o.throttledException !== 'function') {
    fail('throttledException must be a function of the refusal returning the error to answer with.');
  }
  return { ...options };
}

/** `localFallback`: `{ processes }`, a whole number from 1, and only beside `onCacheError: 'local'`. */
function checkLocalFallback(
  o: RestflowThrottleOptions,
  fail: (message: string, code?: ConfigErrorCode) => never,
): void {
  const local: unknown = o.localFallback;
  if (local === undefined) return;
  const code = 'RFT_INVALID_LOCAL_FALLBACK';
  if (o.onCacheError !== 'local') {
    const policy = JSON.stringify(o.onCacheError ?? 'allow');
    fail(`localFallback is set but onCacheError is ${policy}: set onCacheError: 'local' to use it.`, code);
  }
  if (typeof local !== 'object' || local === null || Array.isArray(local)) {
    const got = JSON.stringify(local) ?? typeof local;
    fail(`localFallback must be an object such as { processes: 4 }, got ${got}.`, code);
  }
  const { processes, ...rest } = local as { processes?: unknown };
  const unknown = Object.keys(rest).map((k) => `'${k}'`);
  if (unknown.length > 0) fail(`localFallback has no option ${unknown.join(', ')}; it takes processes.`, code);
  if (processes !== undefined && !(typeof processes === 'number' && Number.isInteger(processes) && processes >= 1)) {
    const hint = typeof processes === 'string' ? ' (a string from the environment: convert it with Number())' : '';
    const got = JSON.stringify(processes);
    fail(`localFallback.processes must be a whole number of processes, 1 or more, got ${got}${hint}.`, code);
  }
}

/** `skipIf`: a function; `ignoreUserAgents`: regular expressions (a string from configuration must become one). */
function checkSkipOptions(o: RestflowThrottleOptions, fail: (message: string, code: ConfigErrorCode) => never): void {
  const code = 'RFT_INVALID_SKIP_OPTION';
  if (o.skipIf !== undefined && typeof o.skipIf !== 'function') {
    fail(`skipIf must be a function of the ExecutionContext returning a boolean, got ${describe(o.skipIf)}.`, code);
  }
  const patterns: unknown = o.ignoreUserAgents;
  if (patterns === undefined) return;
  if (!Array.isArray(patterns)) {
    fail(`ignoreUserAgents must be an array of regular expressions, got ${describe(patterns)}.`, code);
  }
  (patterns as unknown[]).forEach((pattern, i) => {
    if (pattern instanceof RegExp) return;
    const regex = typeof pattern === 'string' ? `/${pattern.replaceAll('/', '\\/')}/i` : undefined;
    const hint = regex === undefined ? '' : ` (write ${regex}, or new RegExp(text, 'i'))`;
    fail(`ignoreUserAgents[${i}] must be a regular expression, got ${describe(pattern)}${hint}.`, code);
  });
}

/** What a wrong value is, for a message: a string, number or boolean as written, else its kind. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : typeof value;
}

function isListener(value: unknown): boolean {
  const l = value as Record<string, unknown> | null;
  if (typeof l !== 'object' || l === null) return false;
  const methods = [l.decision, l.cacheOutage].filter((m) => m !== undefined);
  return methods.length > 0 && methods.every((m) => typeof m === 'function');
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A cache-manager cache (get/set), a store (hit) or a Redis client (sendCommand / evalsha). */
function checkCache(cache: unknown, name: string, fail: (message: string, code: ConfigErrorCode) => never): void {
  const c = cache as Record<string, unknown> | null;
  const usable =
    typeof c === 'object' &&
    c !== null &&
    ((typeof c.get === 'function' && typeof c.set === 'function') ||
      typeof c.hit === 'function' ||
      typeof c.sendCommand === 'function' ||
      typeof c.evalsha === 'function');
  if (!usable) {
    const what = 'a cache-manager cache (get() and set()), a Redis client, or a ThrottleStore (hit())';
    fail(`${name} must be ${what}.`, 'RFT_INVALID_CACHE');
  }
}
