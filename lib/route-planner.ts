import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants';
import { ModuleRef, ModulesContainer } from '@nestjs/core';
import { handlerKind } from './contexts';
import { ImproperlyConfiguredError } from './exceptions/improperly-configured.error';
import { RESTFLOW_THROTTLE_OPTIONS } from './restflow-throttle.constants';
import type { RestflowThrottleOptions } from './restflow-throttle.options';
import { RouteThrottleGuard, type RouteStep } from './route-throttle.guard';
import { ThrottleInstances } from './throttle-instances';
import { ThrottleSettings } from './throttle-settings';
import { ThrottleStores } from './throttle-stores';
import { describeHandler, resolveHandlerThrottling } from './throttle-plan';
import { ScopedRateThrottle } from './throttles/scoped-rate.throttle';
import { SimpleRateThrottle } from './throttles/simple-rate.throttle';

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
  private readonly instances: ThrottleInstances;

  constructor(
    @Inject(RESTFLOW_THROTTLE_OPTIONS) private readonly options: RestflowThrottleOptions,
    private readonly modules: ModulesContainer,
    private readonly settings: ThrottleSettings,
    private readonly stores: ThrottleStores,
    moduleRef: ModuleRef,
  ) {
    this.instances = new ThrottleInstances(moduleRef);
  }

  /** Step one; run by the module's `ROUTE_GUARDS` provider. */
  installGuards(): number {
    this.refuseSecondModule();
    const defaults = this.options.defaultThrottles ?? [];
    for (const module of this.modules.values()) {
      const hostRef = module.getProviderByKey(ModuleRef)?.instance as ModuleRef;
      for (const [wrappers, isController] of [[module.controllers, true], [module.providers, false]] as const) {
        for (const wrapper of wrappers.values()) {
          const type = wrapper.metatype as Function | null;
          if (typeof type !== 'function' || wrapper.isAlias || !type.prototype) continue;
          for (const handler of handlersOf(type, isController)) {
            if (resolveHandlerThrottling(type, handler, defaults).throttleTypes.length === 0) continue;
            this.routes.push({ guard: appendGuard(type, handler), hostRef });
          }
        }
      }
    }
    return this.routes.length;
  }

  async onModuleInit(): Promise<void> {
    const { headers = false, defaultThrottles = [] } = this.options;
    for (const { guard, hostRef } of this.routes) {
      const name = describeHandler(guard.controller, guard.handler);
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

  /** Two copies of the module would each count every request. */
  private refuseSecondModule(): void {
    const copies = [...this.modules.values()].filter((m) => m.metatype?.name === 'RestflowThrottleModule');
    if (copies.length < 2) return;
    const importers = [...this.modules.values()]
      .filter((m) => [...m.imports].some((imported) => copies.includes(imported)))
      .map((m) => m.metatype.name);
    throw new ImproperlyConfiguredError(
      `RestflowThrottleModule is imported ${copies.length} times (by ${importers.join(', ')}), so every request would be counted more than once. ` +
        'Import RestflowThrottleModule.forRoot() once, in the root module: it is global.',
    );
  }
}

/** The handler methods of a class: HTTP routes and microservice handlers of controllers; resolvers and gateway handlers of providers. */
function handlersOf(type: Function, isController: boolean): Function[] {
  const handlers: Function[] = [];
  const seen = new Set<string>();
  for (let proto = type.prototype as object | null; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || seen.has(name)) continue;
      seen.add(name);
      const handler = Object.getOwnPropertyDescriptor(proto, name)?.value as unknown;
      if (typeof handler !== 'function') continue;
      const kind = handlerKind(type, handler);
      if (kind !== undefined && (isController ? kind === 'http' || kind === 'rpc' : kind === 'graphql' || kind === 'ws')) handlers.push(handler);
    }
  }
  return handlers;
}

/** The route's guard, last of the handler's guards; one left by an earlier app for this class is replaced. */
function appendGuard(controller: Function, handler: Function): RouteThrottleGuard {
  const guard = new RouteThrottleGuard(controller, handler);
  const current = (Reflect.getMetadata(GUARDS_METADATA, handler) as unknown[] | undefined) ?? [];
  const others = current.filter((g) => !(g instanceof RouteThrottleGuard && g.controller === controller));
  Reflect.defineMetadata(GUARDS_METADATA, [...others, guard], handler);
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
