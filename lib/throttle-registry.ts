import { Inject, Injectable, Logger, OnModuleInit, type ExecutionContext, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import { createCache } from 'cache-manager';
import { ImproperlyConfiguredError } from './exceptions/improperly-configured.error';
import { RESTFLOW_THROTTLE_OPTIONS } from './restflow-throttle.constants';
import type { RestflowThrottleOptions, ThrottleCache } from './restflow-throttle.options';
import { storeForCache } from './stores/store-for-cache';
import type { ThrottleStore } from './stores/throttle-store';
import { MemoryThrottleStore } from './stores/memory.store';
import { describeHandler, resolveHandlerThrottling, type ThrottlePlan } from './throttle-plan';
import { BaseThrottle, type ThrottleType } from './throttles/base.throttle';
import { ScopedRateThrottle } from './throttles/scoped-rate.throttle';
import { SimpleRateThrottle } from './throttles/simple-rate.throttle';
import { ATTACH_RUNTIME, type ThrottleRuntime } from './throttles/throttle-runtime';

const DEFAULT_TIMEOUT_MS = 1000;
const DEFAULT_MAX_KEYS = 500_000;

/** Marks the guard classes, so a plan can find `@UseGuards(ThrottleGuard)` without importing the guard. */
export const THROTTLE_GUARD_BRAND = Symbol.for('restflow-throttle:guard');

/**
 * Everything the guard needs, prepared before the first request: one
 * singleton per throttle class (from Nest's DI when registered, else built
 * once with its dependencies), one plan per handler, one store per cache.
 * Every route is checked while the application starts, so a missing or
 * malformed rate fails `app.init()` instead of silently allowing traffic.
 */
@Injectable()
export class ThrottleRegistry implements OnModuleInit, ThrottleRuntime {
  /** The module's default cache (the one given, or a bounded in-memory one). */
  readonly defaultCache: ThrottleCache;
  readonly rates: Readonly<Record<string, string | null>>;
  readonly numProxies: number | undefined;

  private readonly logger = new Logger('RestflowThrottle');
  private readonly plans = new Map<Function, Map<Function, ThrottlePlan>>();
  private readonly instances = new Map<ThrottleType, BaseThrottle>();
  private readonly stores = new Map<ThrottleCache, ThrottleStore>();
  private warnedForwardedFor = false;

  constructor(
    @Inject(RESTFLOW_THROTTLE_OPTIONS) private readonly options: RestflowThrottleOptions,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly moduleRef: ModuleRef,
  ) {
    this.defaultCache =
      options.cache ??
      options.caches?.default ??
      createCache(new MemoryThrottleStore(options.memoryCacheMaxKeys ?? DEFAULT_MAX_KEYS));
    this.rates = Object.freeze({ ...(options.rates ?? {}) });
    this.numProxies = options.numProxies;
  }

  async onModuleInit(): Promise<void> {
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as Type | null;
      if (!controller || !wrapper.instance) continue;
      const hostRef = (wrapper.host?.getProviderByKey(ModuleRef)?.instance as ModuleRef | undefined) ?? this.moduleRef;
      for (const name of this.scanner.getAllMethodNames(controller.prototype as object)) {
        const handler = (controller.prototype as Record<string, unknown>)[name];
        if (typeof handler !== 'function' || !isRoute(handler)) continue;
        await this.buildPlan(controller, handler, hostRef);
      }
    }
  }

  /** The plan of a handler; handlers unknown at startup are planned on first use. */
  planFor(controller: Function, handler: Function): ThrottlePlan | Promise<ThrottlePlan> {
    return this.plans.get(controller)?.get(handler) ?? this.buildPlan(controller, handler, this.moduleRef);
  }

  forwardedForIgnored(): void {
    if (this.warnedForwardedFor) return;
    this.warnedForwardedFor = true;
    this.logger.warn(
      'Requests carry X-Forwarded-For, but throttling keys on the connection address: numProxies is not set and the platform does not trust the proxy. ' +
        'Behind a proxy every client would share one bucket; set numProxies (or your platform\'s trust proxy). See "Behind a proxy" in the README.',
    );
  }

  scopeOf(context: ExecutionContext): string | undefined {
    return this.plans.get(context.getClass())?.get(context.getHandler())?.scope;
  }

  storeFor(cache: ThrottleCache | string | undefined): ThrottleStore {
    const resolved = this.resolveCache(cache);
    let store = this.stores.get(resolved);
    if (store === undefined) {
      const name = typeof cache === 'string' ? cache : resolved === this.defaultCache ? 'default' : 'custom';
      store = storeForCache(resolved, {
        name,
        policy: this.options.onCacheError ?? 'allow',
        timeoutMs: this.options.cacheTimeoutMs ?? DEFAULT_TIMEOUT_MS,
        logger: this.logger,
      });
      this.stores.set(resolved, store);
    }
    return store;
  }

  private resolveCache(cache: ThrottleCache | string | undefined): ThrottleCache {
    if (cache === undefined || cache === 'default') return this.defaultCache;
    if (typeof cache !== 'string') return cache;
    const named = this.options.caches?.[cache];
    if (named === undefined) {
      const known = ['default', ...Object.keys(this.options.caches ?? {})].join(', ');
      throw new ImproperlyConfiguredError(`Unknown throttle cache alias '${cache}'; the caches configured are: ${known}.`);
    }
    return named;
  }

  private async buildPlan(controller: Function, handler: Function, hostRef: ModuleRef): Promise<ThrottlePlan> {
    const where = describeHandler(controller, handler);
    try {
      const throttling = resolveHandlerThrottling(controller, handler, this.options.defaultThrottles ?? [], isThrottleGuard);
      const throttles: BaseThrottle[] = [];
      for (const type of throttling.throttleTypes) throttles.push(await this.instanceOf(type, hostRef));
      for (const throttle of throttles) {
        throttle.checkConfiguration(throttling.scope);
        if (throttle instanceof SimpleRateThrottle) this.storeFor(throttle.cache);
      }
      if (throttling.scope !== undefined && throttles.length > 0 && !throttles.some((t) => t instanceof ScopedRateThrottle)) {
        this.logger.warn(
          `${where} has throttle scope '${throttling.scope}' but no ScopedRateThrottle among its throttles, so the scope has no effect.`,
        );
      }
      const plan: ThrottlePlan = { ...throttling, throttles };
      let byHandler = this.plans.get(controller);
      if (byHandler === undefined) this.plans.set(controller, (byHandler = new Map()));
      byHandler.set(handler, plan);
      return plan;
    } catch (error) {
      if (error instanceof ImproperlyConfiguredError && !error.message.includes(`(on ${where})`)) {
        const wrapped = new ImproperlyConfiguredError(`${error.message} (on ${where})`);
        // Keep where the problem was found, under the message that names the handler.
        const frames = error.stack?.split('\n').slice(1) ?? [];
        wrapped.stack = [`${wrapped.name}: ${wrapped.message}`, ...frames].join('\n');
        throw wrapped;
      }
      throw error;
    }
  }

  /** One instance per throttle class: a registered provider if any, else built once with its dependencies. */
  private async instanceOf(type: ThrottleType, hostRef: ModuleRef): Promise<BaseThrottle> {
    let instance = this.instances.get(type);
    if (instance !== undefined) return instance;
    if (typeof type !== 'function' || typeof (type.prototype as Partial<BaseThrottle> | undefined)?.allowRequest !== 'function') {
      const name = typeof type === 'function' ? type.name : String(type);
      throw new ImproperlyConfiguredError(
        `'${name}' is not a throttle class: a throttle extends BaseThrottle (or SimpleRateThrottle) and implements allowRequest().`,
      );
    }
    if (!(type.prototype instanceof BaseThrottle)) {
      throw new ImproperlyConfiguredError(
        `'${type.name}' does not extend BaseThrottle: extend BaseThrottle (or SimpleRateThrottle) so the module can give it its settings.`,
      );
    }
    instance = this.registeredInstance(type) ?? (await hostRef.create(type as Type<BaseThrottle>));
    instance[ATTACH_RUNTIME](this);
    this.instances.set(type, instance);
    return instance;
  }

  private registeredInstance(type: ThrottleType): BaseThrottle | undefined {
    try {
      return this.moduleRef.get<BaseThrottle>(type as Type<BaseThrottle>, { strict: false });
    } catch {
      return undefined;
    }
  }
}

function isRoute(handler: Function): boolean {
  return Reflect.getMetadata(PATH_METADATA, handler) !== undefined && Reflect.getMetadata(METHOD_METADATA, handler) !== undefined;
}

function isThrottleGuard(guard: unknown): boolean {
  const owner = typeof guard === 'function' ? guard : (guard as { constructor?: unknown } | null)?.constructor;
  return typeof owner === 'function' && (owner as unknown as Record<symbol, unknown>)[THROTTLE_GUARD_BRAND] === true;
}
