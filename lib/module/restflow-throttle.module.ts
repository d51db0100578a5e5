/** The module an app imports once: its options, stores, guard, planner and exception filter. */
import { DynamicModule, Global, Module, type Provider } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import { ThrottledExceptionFilter } from '../exceptions/throttled-exception.filter';
import { RESTFLOW_THROTTLE_CACHE, RESTFLOW_THROTTLE_OPTIONS } from './constants';
import type { RestflowThrottleAsyncOptions, RestflowThrottleOptions, RestflowThrottleOptionsFactory } from './options';
import { validateOptions } from './options-validation';
import { PeerAddressHook } from '../identity/peer-address';
import { RoutePlans } from '../guard/route-plans';
import { ThrottleGuard } from '../guard/throttle.guard';
import { ROUTE_GUARDS, RoutePlanner } from '../planning/route-planner';
import { ThrottleSettings } from './settings';
import { ThrottleStores } from './caches';
import { ThrottleAdmin } from '../admin/throttle-admin';

/**
 * The module: import it once, in the root module. It is global. It places a
 * guard after every other guard of each throttled handler (so throttles see
 * the authenticated user) and registers `ThrottledExceptionFilter`, so a
 * throttled request answers 429 with `Retry-After` on Express and Fastify.
 */
@Global()
@Module({})
export class RestflowThrottleModule {
  /** DRF's `REST_FRAMEWORK` throttle settings, given directly. */
  static forRoot(options: RestflowThrottleOptions = {}): DynamicModule {
    const validated = validateOptions(options);
    return RestflowThrottleModule.build([{ provide: RESTFLOW_THROTTLE_OPTIONS, useValue: validated }], []);
  }

  /** The same options from a factory, a class or an existing provider (e.g. read from a config service). */
  static forRootAsync(options: RestflowThrottleAsyncOptions): DynamicModule {
    const ways = [options?.useFactory, options?.useClass, options?.useExisting].filter((way) => way !== undefined);
    if (ways.length !== 1) {
      throw new ImproperlyConfiguredError(
        'RestflowThrottleModule.forRootAsync() needs exactly one of useFactory, useClass or useExisting.',
        'RFT_ASYNC_OPTIONS',
      );
    }
    const providers: Provider[] = [];
    if (options.useFactory !== undefined) {
      const factory = options.useFactory as (
        ...args: unknown[]
      ) => RestflowThrottleOptions | Promise<RestflowThrottleOptions>;
      providers.push({
        provide: RESTFLOW_THROTTLE_OPTIONS,
        useFactory: async (...args: unknown[]) => validateOptions(await factory(...args)),
        inject: options.inject ?? [],
      });
    } else {
      const token = options.useExisting ?? options.useClass!;
      if (options.useClass !== undefined) providers.push({ provide: options.useClass, useClass: options.useClass });
      providers.push({
        provide: RESTFLOW_THROTTLE_OPTIONS,
        useFactory: async (factory: RestflowThrottleOptionsFactory) =>
          validateOptions(await factory.createThrottleOptions()),
        inject: [token],
      });
    }
    return RestflowThrottleModule.build(providers, options.imports ?? []);
  }

  private static build(
    optionProviders: Provider[],
    imports: NonNullable<RestflowThrottleAsyncOptions['imports']>,
  ): DynamicModule {
    return {
      module: RestflowThrottleModule,
      global: true,
      imports,
      providers: [
        ...optionProviders,
        {
          provide: ThrottleSettings,
          useFactory: (o: RestflowThrottleOptions) => new ThrottleSettings(o),
          inject: [RESTFLOW_THROTTLE_OPTIONS],
        },
        {
          provide: ThrottleStores,
          useFactory: (o: RestflowThrottleOptions, s: ThrottleSettings) => new ThrottleStores(o, s),
          inject: [RESTFLOW_THROTTLE_OPTIONS, ThrottleSettings],
        },
        {
          provide: RESTFLOW_THROTTLE_CACHE,
          useFactory: (stores: ThrottleStores) => stores.defaultCache,
          inject: [ThrottleStores],
        },
        RoutePlans,
        // The app's one guard, the only one handed the plans (an instance Nest builds elsewhere does nothing).
        { provide: ThrottleGuard, useFactory: (plans: RoutePlans) => new ThrottleGuard(plans), inject: [RoutePlans] },
        RoutePlanner,
        {
          provide: ROUTE_GUARDS,
          useFactory: (planner: RoutePlanner) => planner.installGuards(),
          inject: [RoutePlanner],
        },
        PeerAddressHook,
        ThrottleAdmin,
        { provide: APP_FILTER, useClass: ThrottledExceptionFilter },
      ],
      exports: [
        RESTFLOW_THROTTLE_OPTIONS,
        RESTFLOW_THROTTLE_CACHE,
        ThrottleSettings,
        ThrottleStores,
        ThrottleGuard,
        ThrottleAdmin,
      ],
    };
  }
}
