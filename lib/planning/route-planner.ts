/**
 * Startup planning: finds every throttled handler of one application (HTTP
 * routes, GraphQL resolvers, gateway and microservice handlers), places the
 * guard on it, and makes its plan (throttle singletons from DI, each handed
 * the route once), so a missing or malformed rate or an unbuildable throttle
 * fails `app.init()` naming the handler.
 */
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ModuleRef, ModulesContainer } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import type { Module } from '@nestjs/core/injector/module';
import { GRAPHQL_MODULE_OPTIONS, handlerKind, unguardedFieldResolver } from '../contexts';
import { registerConnectionThrottle, registerPerConnectionThrottle } from '../contexts/ws-connection';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import type { RoutePlan, RouteStep } from '../guard/route-plans';
import { AppExceptionFilters } from '../exceptions/app-exception-filters';
import { makePlan, RoutePlans } from '../guard/route-plans';
import { ThrottleGuard } from '../guard/throttle.guard';
import { ThrottleStores } from '../module/caches';
import { RESTFLOW_THROTTLE_OPTIONS } from '../module/constants';
import type { RestflowThrottleOptions } from '../module/options';
import { ThrottleSettings } from '../module/settings';
import { ScopedRateThrottle } from '../throttles/scoped-rate.throttle';
import { SimpleRateThrottle } from '../throttles/simple-rate.throttle';
import { guardBindings, placeGuard, removeGuard, resolveGuardIn } from './guard-placement';
import { modulesImporting } from './declared-imports';
import { classOf, declaresThrottling, methodsOf, providersBuilt } from './handler-discovery';
import { describeHandler, resolveHandlerThrottling } from './handler-throttling';
import { ThrottleInstances } from './throttle-instances';

/** Resolves once the guard is in place on every throttled handler (before Nest binds any route). */
export const ROUTE_GUARDS = Symbol('RESTFLOW_THROTTLE_ROUTE_GUARDS');

/** A throttled handler found at startup, and the module it lives in (whose DI builds its throttles). */
interface Route {
  readonly controller: Function;
  readonly handler: Function;
  readonly hostRef: ModuleRef;
  /** Every provider of the class (one class may be provided several times), for `throttleConnection()`. */
  readonly providers: InstanceWrapper[];
}

/**
 * Plans one application's throttled handlers in two steps:
 * - while Nest builds the providers, once every other provider of the app
 *   exists (so classes provided with `useFactory` or `useValue` are known by
 *   their instance), put `ThrottleGuard` last among each throttled handler's
 *   guards and make the handler's module resolve it to this app's guard;
 * - on module init, make each route's plan and hand the plans to the guard.
 */
@Injectable()
export class RoutePlanner implements OnModuleInit, OnModuleDestroy {
  private readonly routes: Route[] = [];
  private readonly placed = new Set<Function>();
  /** Undoes the registration of the connection throttles of gateways built per connection, when the app closes. */
  private readonly unregister: Array<() => void> = [];
  /** Another copy of the module in this app placed the guards first (warned at init, when the app's logger is in place). */
  private duplicate = false;
  /** Set as soon as this copy starts placing guards, so a second copy in the same app stands aside. */
  installing = false;
  private readonly instances: ThrottleInstances;
  private readonly filters: AppExceptionFilters;

  constructor(
    @Inject(RESTFLOW_THROTTLE_OPTIONS) private readonly options: RestflowThrottleOptions,
    private readonly modules: ModulesContainer,
    private readonly settings: ThrottleSettings,
    private readonly stores: ThrottleStores,
    private readonly moduleRef: ModuleRef,
    private readonly plans: RoutePlans,
    private readonly guard: ThrottleGuard,
  ) {
    this.instances = new ThrottleInstances(moduleRef);
    this.filters = new AppExceptionFilters(moduleRef);
  }

  /** Step one; run by the module's `ROUTE_GUARDS` provider. */
  async installGuards(): Promise<number> {
    if (this.otherCopyInstalling()) {
      this.duplicate = true;
      return 0;
    }
    this.installing = true;
    await providersBuilt(this.modules, ROUTE_GUARDS);
    const guardWrapper = this.ownModule()?.providers.get(ThrottleGuard);
    if (guardWrapper === undefined) throw new Error('RestflowThrottleModule: its ThrottleGuard provider is missing.');
    const defaults = this.options.defaultThrottles ?? [];
    const unreadable: string[] = [];
    for (const module of this.modules.values()) {
      const hostRef = module.getProviderByKey(ModuleRef)?.instance as ModuleRef;
      for (const [wrappers, isController] of [
        [module.controllers, true],
        [module.providers, false],
      ] as const) {
        for (const wrapper of wrappers.values()) {
          const type = classOf(wrapper);
          if (type === undefined) continue;
          for (const [handler, known] of methodsOf(type, isController)) {
            if (!known) {
              if (declaresThrottling(handler)) unreadable.push(describeHandler(type, handler));
              else this.plans.addUnthrottled(handler);
              continue;
            }
            if (resolveHandlerThrottling(type, handler, defaults).throttleTypes.length === 0) {
              this.plans.addUnthrottled(handler);
              continue;
            }
            placeGuard(handler, this.plans);
            this.placed.add(handler);
            resolveGuardIn(module, guardWrapper);
            const route = this.routes.find((r) => r.controller === type && r.handler === handler);
            if (route === undefined) this.routes.push({ controller: type, handler, hostRef, providers: [wrapper] });
            else route.providers.push(wrapper);
          }
        }
      }
    }
    if (unreadable.length > 0) {
      throw new ImproperlyConfiguredError(
        `${unreadable.join(', ')} declare${unreadable.length === 1 ? 's' : ''} throttles but ${unreadable.length === 1 ? 'is' : 'are'} ` +
          'not an HTTP route, a GraphQL resolver, a gateway handler or a microservice handler of a controller, ' +
          'so the throttles would never run. Move the decorators to a handler of one of those kinds (docs/contexts.md).',
        'RFT_UNTHROTTLEABLE_HANDLER',
      );
    }
    return this.routes.length;
  }

  async onModuleInit(): Promise<void> {
    if (this.duplicate) {
      await this.warnSecondModule();
      return;
    }
    const { defaultThrottles = [] } = this.options;
    const graphqlOptions = this.graphqlOptions();
    const globalBindings = this.globalBindings();
    for (const { controller, handler, hostRef, providers } of this.routes) {
      const name = describeHandler(controller, handler);
      if (unguardedFieldResolver(handler, graphqlOptions)) {
        this.settings.logger.warn(
          `${name} is a throttled field resolver, but Nest runs no guards on field resolvers: add fieldResolverEnhancers: ['guards'] to GraphQLModule.forRoot(), or its throttles never run.`,
        );
      }
      try {
        const throttling = resolveHandlerThrottling(controller, handler, defaultThrottles);
        const steps: RouteStep[] = [];
        let scoped = false;
        for (const type of throttling.throttleTypes) {
          const throttleInstance = await this.instances.of(type, hostRef);
          scoped ||= throttleInstance instanceof ScopedRateThrottle;
          const { scope, declared, cost } = throttling;
          const kind = handlerKind(controller, handler);
          const throttle = throttleInstance.forRoute({ name, scope, declared, kind, cost });
          if (throttle !== null) steps.push({ throttle, rate: plainRateThrottle(throttle) });
        }
        if (throttling.scope !== undefined && !scoped) {
          this.settings.logger.warn(
            `${name} has throttle scope '${throttling.scope}' but no ScopedRateThrottle among its throttles, so the scope has no effect.`,
          );
        }
        if (throttling.cost !== undefined && !steps.some((step) => step.throttle instanceof SimpleRateThrottle)) {
          this.settings.logger.warn(
            `${name} has @ThrottleCost() but no rate throttle to count it, so it has no effect.`,
          );
        }
        const bindings = globalBindings + guardBindings(controller, handler);
        const plan = makePlan(
          { name, controller, handler, steps, bindings },
          this.options,
          this.stores.events,
          this.filters,
        );
        this.plans.add(plan);
        if (handler.name === 'handleConnection') this.registerConnections(providers, plan);
      } catch (error) {
        throw error instanceof ImproperlyConfiguredError && !error.message.includes(`(on ${name})`)
          ? onHandler(error, name)
          : error;
      }
    }
    this.plans.seal();
  }

  /** The app is closing: nothing of it stays in the user's classes. */
  onModuleDestroy(): void {
    for (const handler of this.placed) removeGuard(handler, this.plans);
    this.placed.clear();
    for (const undo of this.unregister.splice(0)) undo();
  }

  /**
   * Hands `throttleConnection()` the plan of a gateway's connections: by
   * instance, or, for a gateway Nest builds per connection (request-scoped),
   * by the provider that builds it.
   */
  private registerConnections(providers: readonly InstanceWrapper[], plan: RoutePlan): void {
    for (const provider of providers) {
      if (!provider.isDependencyTreeStatic()) this.unregister.push(registerPerConnectionThrottle(provider, plan));
      else if (typeof provider.instance === 'object' && provider.instance !== null) {
        registerConnectionThrottle(provider.instance, plan);
      }
    }
  }

  /** How many of the app's global guards are this app's guard (`useGlobalGuards(app.get(ThrottleGuard))`). */
  private globalBindings(): number {
    const container = (
      this.moduleRef as unknown as { container?: { applicationConfig?: { getGlobalGuards?(): unknown[] } } }
    ).container;
    const globals = container?.applicationConfig?.getGlobalGuards?.() ?? [];
    return globals.filter((g) => g === this.guard).length;
  }

  /** The module (this copy of RestflowThrottleModule) whose providers include this planner. */
  private ownModule(): Module | undefined {
    for (const module of this.modules.values())
      if (module.providers.get(RoutePlanner)?.instance === this) return module;
    return undefined;
  }

  /** Whether another copy of the module in this app (one imported twice) installs the guards: any, not the first. */
  private otherCopyInstalling(): boolean {
    for (const module of this.modules.values()) {
      const planner = module.providers.get(RoutePlanner)?.instance as RoutePlanner | undefined;
      if (planner instanceof RoutePlanner && planner !== this && planner.installing) return true;
    }
    return false;
  }

  /** The GraphQL module's options, when the app has one. */
  private graphqlOptions(): unknown {
    try {
      return this.moduleRef.get(GRAPHQL_MODULE_OPTIONS, { strict: false });
    } catch {
      return undefined;
    }
  }

  /**
   * A second copy of the module in this app: its routes already have a guard, so each request is still counted
   * once. Warned by one copy (the first that stood aside), naming the modules whose own metadata imports the
   * module: not its copies, nor Nest's core module, nor the modules Nest binds it to only because it is global.
   */
  private async warnSecondModule(): Promise<void> {
    const copies = [...this.modules.values()].filter(
      (m) => m.metatype?.name === 'RestflowThrottleModule' || m.providers.has(RoutePlanner),
    );
    const planners = copies.map((m) => m.providers.get(RoutePlanner)?.instance);
    if (planners.find((planner) => planner instanceof RoutePlanner && planner.duplicate) !== this) return;
    const importers = await modulesImporting(this.modules.values(), copies, this.moduleRef);
    const by = importers.length > 0 ? ` (by ${importers.join(', ')})` : '';
    this.settings.logger.warn(
      `RestflowThrottleModule is imported ${copies.length} times${by}. Each request is still counted once, ` +
        'with the options of the copy Nest built first; import RestflowThrottleModule.forRoot() once, ' +
        'in the root module: it is global.',
    );
  }
}

/** A SimpleRateThrottle whose allowRequest/wait are DRF's own can hand the guard its whole decision. */
function plainRateThrottle(throttle: object): SimpleRateThrottle | undefined {
  if (!(throttle instanceof SimpleRateThrottle)) return undefined;
  const proto = SimpleRateThrottle.prototype;
  return throttle.allowRequest === proto.allowRequest && throttle.wait === proto.wait ? throttle : undefined;
}

/** The same error and code, naming the handler, with the stack of where it was found. */
function onHandler(error: ImproperlyConfiguredError, name: string): ImproperlyConfiguredError {
  return error.withMessage(`${error.message} (on ${name})`);
}
