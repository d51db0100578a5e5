import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants';
import { ModuleRef, ModulesContainer } from '@nestjs/core';
import { GRAPHQL_MODULE_OPTIONS, handlerKind, unguardedFieldResolver } from '../contexts';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import { ACTION_CONFIG_METADATA, RESTFLOW_THROTTLE_OPTIONS, THROTTLE_SCOPE_METADATA, THROTTLES_METADATA } from '../module/constants';
import type { RestflowThrottleOptions } from '../module/options';
import { RouteThrottleGuard, type RouteStep } from '../guard/check-throttles';
import { ThrottleInstances } from './throttle-instances';
import { ThrottleSettings } from '../module/settings';
import { ThrottleStores } from '../module/caches';
import { describeHandler, resolveHandlerThrottling } from './handler-throttling';
import { ScopedRateThrottle } from '../throttles/scoped-rate.throttle';
import { SimpleRateThrottle } from '../throttles/simple-rate.throttle';

/** A throttled handler found at startup, and the module it lives in (whose DI builds its throttles). */
interface Route {
  readonly guard: RouteThrottleGuard;
  readonly hostRef: ModuleRef;
}

/**
 * Plans every throttled handler (HTTP routes, GraphQL resolvers, gateway
 * and microservice handlers) in two steps:
 * - while Nest builds the providers, before it binds any route, append a
 *   {@link RouteThrottleGuard} to the end of each throttled handler's guards,
 *   so the throttles run after every other guard, wherever those are declared;
 * - on module init, fill each guard's plan: throttle singletons from DI, each
 *   handed the route once (`forRoute`), so a missing or malformed rate or an
 *   unbuildable throttle fails `app.init()` naming the handler.
 */
@Injectable()
export class RoutePlanner implements OnModuleInit {
  private readonly routes: Route[] = [];
  /** Another copy of the module in this app placed the guards first (warned at init, when the app's logger is in place). */
  private duplicate = false;
  private readonly instances: ThrottleInstances;

  constructor(
    @Inject(RESTFLOW_THROTTLE_OPTIONS) private readonly options: RestflowThrottleOptions,
    private readonly modules: ModulesContainer,
    private readonly settings: ThrottleSettings,
    private readonly stores: ThrottleStores,
    private readonly moduleRef: ModuleRef,
  ) {
    this.instances = new ThrottleInstances(moduleRef);
  }

  /** Step one; run by the module's `ROUTE_GUARDS` provider. */
  installGuards(): number {
    const defaults = this.options.defaultThrottles ?? [];
    const unreadable: string[] = [];
    for (const module of this.modules.values()) {
      const hostRef = module.getProviderByKey(ModuleRef)?.instance as ModuleRef;
      for (const [wrappers, isController] of [[module.controllers, true], [module.providers, false]] as const) {
        for (const wrapper of wrappers.values()) {
          const type = wrapper.metatype as Function | null;
          if (typeof type !== 'function' || wrapper.isAlias || !type.prototype) continue;
          for (const [handler, known] of methodsOf(type, isController)) {
            if (!known) {
              if (declaresThrottling(handler)) unreadable.push(describeHandler(type, handler));
              continue;
            }
            if (resolveHandlerThrottling(type, handler, defaults).throttleTypes.length === 0) continue;
            const guard = appendGuard(type, handler, this.modules);
            if (guard === undefined) this.duplicate = true;
            else this.routes.push({ guard, hostRef });
          }
        }
      }
    }
    if (unreadable.length > 0) {
      throw new ImproperlyConfiguredError(
        `${unreadable.join(', ')} declare${unreadable.length === 1 ? 's' : ''} throttles but ${unreadable.length === 1 ? 'is' : 'are'} not an HTTP route, a GraphQL resolver, a gateway handler or a microservice handler of a controller, ` +
          'so the throttles would never run. Move the decorators to a handler of one of those kinds (docs/contexts.md).',
      );
    }
    return this.routes.length;
  }

  async onModuleInit(): Promise<void> {
    const { headers = false, defaultThrottles = [] } = this.options;
    if (this.duplicate) this.warnSecondModule();
    const graphqlOptions = this.graphqlOptions();
    for (const { guard, hostRef } of this.routes) {
      const name = describeHandler(guard.controller, guard.handler);
      if (unguardedFieldResolver(guard.handler, graphqlOptions)) {
        this.settings.logger.warn(
          `${name} is a throttled field resolver, but Nest runs no guards on field resolvers: add fieldResolverEnhancers: ['guards'] to GraphQLModule.forRoot(), or its throttles never run.`,
        );
      }
      try {
        const throttling = resolveHandlerThrottling(guard.controller, guard.handler, defaultThrottles);
        const steps: RouteStep[] = [];
        let scoped = false;
        for (const type of throttling.throttleTypes) {
          const instance = await this.instances.of(type, hostRef);
          scoped ||= instance instanceof ScopedRateThrottle;
          const throttle = instance.forRoute({ name, scope: throttling.scope, declared: throttling.declared });
          if (throttle !== null) steps.push({ throttle, rate: plainRateThrottle(throttle) });
        }
        if (throttling.scope !== undefined && !scoped) {
          this.settings.logger.warn(`${name} has throttle scope '${throttling.scope}' but no ScopedRateThrottle among its throttles, so the scope has no effect.`);
        }
        guard.plan = { name, steps, headers, events: this.stores.events };
      } catch (error) {
        throw error instanceof ImproperlyConfiguredError && !error.message.includes(`(on ${name})`) ? onHandler(error, name) : error;
      }
    }
  }

  /** The GraphQL module's options, when the app has one. */
  private graphqlOptions(): unknown {
    try {
      return this.moduleRef.get(GRAPHQL_MODULE_OPTIONS, { strict: false });
    } catch {
      return undefined;
    }
  }

  /** A second copy of the module in this app: its routes already have a guard, so each request is still counted once. */
  private warnSecondModule(): void {
    const copies = [...this.modules.values()].filter((m) => m.metatype?.name === 'RestflowThrottleModule');
    const importers = [...this.modules.values()]
      .filter((m) => [...m.imports].some((imported) => copies.includes(imported)))
      .map((m) => m.metatype.name);
    this.settings.logger.warn(
      `RestflowThrottleModule is imported ${copies.length} times (by ${importers.join(', ')}). Each request is still counted once, ` +
        'with the options of the copy Nest built first; import RestflowThrottleModule.forRoot() once, in the root module: it is global.',
    );
  }
}

/**
 * The methods of a class, each with whether it is a handler the throttles can
 * run on: HTTP routes and microservice handlers of controllers; resolvers and
 * gateway handlers of providers.
 */
function methodsOf(type: Function, isController: boolean): Array<[Function, boolean]> {
  const methods: Array<[Function, boolean]> = [];
  const seen = new Set<string>();
  for (let proto = type.prototype as object | null; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || seen.has(name)) continue;
      seen.add(name);
      const handler = Object.getOwnPropertyDescriptor(proto, name)?.value as unknown;
      if (typeof handler !== 'function') continue;
      const kind = handlerKind(type, handler);
      methods.push([handler, kind !== undefined && (isController ? kind === 'http' || kind === 'rpc' : kind === 'graphql' || kind === 'ws')]);
    }
  }
  return methods;
}

/** Throttle decorators on the method itself (a class's own apply to its handlers only). */
function declaresThrottling(handler: Function): boolean {
  return [THROTTLES_METADATA, THROTTLE_SCOPE_METADATA, ACTION_CONFIG_METADATA].some((key) => Reflect.getMetadata(key, handler) !== undefined);
}

/**
 * The route's guard, last of the handler's guards. One left by an earlier app
 * for this class is replaced; one placed by another copy of the module in
 * this same app is kept, and `undefined` says so (counted once either way).
 */
function appendGuard(controller: Function, handler: Function, app: object): RouteThrottleGuard | undefined {
  const current = (Reflect.getMetadata(GUARDS_METADATA, handler) as unknown[] | undefined) ?? [];
  const placed = (g: unknown): g is RouteThrottleGuard => g instanceof RouteThrottleGuard && g.controller === controller;
  if (current.some((g) => placed(g) && g.app === app)) return undefined;
  const guard = new RouteThrottleGuard(controller, handler, app);
  Reflect.defineMetadata(GUARDS_METADATA, [...current.filter((g) => !placed(g)), guard], handler);
  return guard;
}

/** A SimpleRateThrottle whose allowRequest/wait are DRF's own can hand the guard its whole decision. */
function plainRateThrottle(throttle: object): SimpleRateThrottle | undefined {
  if (!(throttle instanceof SimpleRateThrottle)) return undefined;
  const proto = SimpleRateThrottle.prototype;
  return throttle.allowRequest === proto.allowRequest && throttle.wait === proto.wait ? throttle : undefined;
}

/** The same error, naming the handler, with the stack of where it was found. */
function onHandler(error: ImproperlyConfiguredError, name: string): ImproperlyConfiguredError {
  const wrapped = new ImproperlyConfiguredError(`${error.message} (on ${name})`);
  wrapped.stack = [`${wrapped.name}: ${wrapped.message}`, ...(error.stack?.split('\n').slice(1) ?? [])].join('\n');
  return wrapped;
}
