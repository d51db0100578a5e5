/** The module's caches turned into stores, once each: the default cache and the aliases throttles name. */
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import type { RestflowThrottleOptions, ThrottleCacheLike } from './options';
import { LocalFallback } from '../stores/local-fallback';
import { MemoryThrottleStore } from '../stores/memory/memory.store';
import { storeForCache, type StoreOptions } from '../stores/store-for-cache';
import type { ThrottleStore } from '../stores/throttle-store';
import { ThrottleEvents } from '../events/throttle-events';
import type { ThrottleSettings } from './settings';

const DEFAULT_TIMEOUT_MS = 1000;

const DEFAULT_MAX_KEYS = 500_000;

/**
 * Turns the configured caches into stores, once each: the default cache
 * (given, or a bounded in-memory store), and the aliases of `caches` that a
 * throttle names with `cache = 'alias'` (DRF's `caches[...]`).
 */
export class ThrottleStores {
  /** The module's default cache as given, or the in-memory store it made. */
  readonly defaultCache: ThrottleCacheLike;
  /** Decision and cache outage listeners (the `events` option, plus `subscribe()`); see docs/metrics.md. */
  readonly events: ThrottleEvents;
  private readonly stores = new Map<ThrottleCacheLike, ThrottleStore>();
  private readonly names = new Map<ThrottleStore, string>();
  /** Per store, the glob patterns of the keys its throttles write (for `reset()`); long keys are hashed as `throttle_h:...`. */
  private readonly keyPatterns = new Map<ThrottleStore, Set<string>>();

  constructor(
    private readonly options: RestflowThrottleOptions,
    private readonly settings: ThrottleSettings,
  ) {
    this.defaultCache =
      options.cache ??
      options.caches?.default ??
      new MemoryThrottleStore(options.memoryCacheMaxKeys ?? DEFAULT_MAX_KEYS);
    this.events = new ThrottleEvents(options.events, options.eventKeySecret, settings.logger);
  }

  /**
   * The store of a cache or alias (`undefined` = the default). Throws, naming
   * the aliases, for an unknown one. `keyPattern`: the glob of the keys the
   * asking throttle writes there, so `reset()` can find them.
   */
  storeFor(cache: ThrottleCacheLike | string | undefined, keyPattern?: string): ThrottleStore {
    const resolved = this.resolve(cache);
    let store = this.stores.get(resolved);
    if (store === undefined) {
      const name = typeof cache === 'string' ? cache : resolved === this.defaultCache ? 'default' : 'custom';
      const policy = this.options.onCacheError ?? 'allow';
      const storeOptions: StoreOptions = {
        name,
        policy,
        // One limiter per cache, bounded as the default memory store; built only for a cache that will need it.
        ...(policy === 'local' && {
          local: new LocalFallback({
            processes: this.options.localFallback?.processes ?? 1,
            maxKeys: this.options.memoryCacheMaxKeys ?? DEFAULT_MAX_KEYS,
          }),
        }),
        timeoutMs: this.options.cacheTimeoutMs ?? DEFAULT_TIMEOUT_MS,
        logger: this.settings.logger,
        refusalCache: this.options.refusalCache,
        onOutage: (state, reason, node) =>
          this.events.cacheOutage({
            cache: name,
            state,
            ...(reason === undefined ? {} : { reason }),
            ...(node === undefined ? {} : { node }),
          }),
      };
      store = storeForCache(resolved, storeOptions);
      this.stores.set(resolved, store);
      if (!this.names.has(store)) this.names.set(store, name);
    }
    if (keyPattern !== undefined) {
      const patterns = this.keyPatterns.get(store) ?? new Set(['throttle_h:*']);
      this.keyPatterns.set(store, patterns.add(keyPattern));
    }
    return store;
  }

  /** The name a store is known by in events and log lines: `default`, an alias, or `custom`. */
  nameOf(store: ThrottleStore): string {
    return this.names.get(store) ?? 'custom';
  }

  /**
   * Forgets every count of every store in use (tests: `resetThrottles(app)`
   * in `restflow-throttle`'s testing helpers), and the refusals this process
   * remembers of them. A store that cannot forget is an error, not a silent
   * no-op.
   */
  async reset(): Promise<void> {
    const stores = this.all();
    const stuck = stores.filter((store) => typeof store.reset !== 'function');
    if (stuck.length > 0) {
      const names = stuck.map((store) => `'${this.nameOf(store)}' (${store.constructor.name})`).join(', ');
      const message = `Cannot reset the throttle counts: the store of cache ${names} has no reset().`;
      throw new ImproperlyConfiguredError(message, 'RFT_RESET_UNSUPPORTED');
    }
    await Promise.all(stores.map((store) => store.reset!([...(this.keyPatterns.get(store) ?? [])])));
  }

  /** Every store in use (for `reset()` between tests). */
  all(): ThrottleStore[] {
    return [...new Set(this.stores.values())];
  }

  private resolve(cache: ThrottleCacheLike | string | undefined): ThrottleCacheLike {
    if (cache === undefined || cache === 'default') return this.defaultCache;
    if (typeof cache !== 'string') return cache;
    const named = this.options.caches?.[cache];
    if (named === undefined) {
      const known = ['default', ...Object.keys(this.options.caches ?? {})].join(', ');
      const message = `Unknown throttle cache alias '${cache}'; the caches configured are: ${known}.`;
      throw new ImproperlyConfiguredError(message, 'RFT_UNKNOWN_CACHE_ALIAS');
    }
    return named;
  }
}
