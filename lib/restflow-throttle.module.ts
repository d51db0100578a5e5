import { DynamicModule, Global, Module, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { ThrottledExceptionFilter } from './exceptions/throttled-exception.filter';
import { RESTFLOW_THROTTLE_CACHE, RESTFLOW_THROTTLE_OPTIONS } from './restflow-throttle.constants';
import type { RestflowThrottleAsyncOptions, RestflowThrottleOptions } from './restflow-throttle.options';
import { validateOptions } from './restflow-throttle.options-validation';
import { GlobalThrottleGuard, ThrottleGuard } from './throttle.guard';
import { ThrottleRegistry } from './throttle-registry';

/**
 * The module: import it once, in the root module. It is global, binds
 * `ThrottleGuard` to every route (`APP_GUARD`) and registers
 * `ThrottledExceptionFilter`, so a throttled request answers 429 with
 * `Retry-After` on Express and Fastify alike.
 */
@Global()
@Module({})
export class RestflowThrottleModule {
  /** DRF's `REST_FRAMEWORK` throttle settings, given directly. */
  static forRoot(options: RestflowThrottleOptions = {}): DynamicModule {
    const validated = validateOptions(options);
    return RestflowThrottleModule.build([{ provide: RESTFLOW_THROTTLE_OPTIONS, useValue: validated }], []);
  }

  /** The same options from a factory, e.g. rates read from a config service. */
  static forRootAsync(options: RestflowThrottleAsyncOptions): DynamicModule {
    if (typeof options?.useFactory !== 'function') {
      throw new TypeError('RestflowThrottleModule.forRootAsync() needs a useFactory function.');
    }
    const factory = options.useFactory as (...args: unknown[]) => RestflowThrottleOptions | Promise<RestflowThrottleOptions>;
    return RestflowThrottleModule.build(
      [
        {
          provide: RESTFLOW_THROTTLE_OPTIONS,
          useFactory: async (...args: unknown[]) => validateOptions(await factory(...args)),
          inject: options.inject ?? [],
        },
      ],
      options.imports ?? [],
    );
  }

  private static build(optionProviders: Provider[], imports: NonNullable<RestflowThrottleAsyncOptions['imports']>): DynamicModule {
    return {
      module: RestflowThrottleModule,
      global: true,
      imports: [DiscoveryModule, ...imports],
      providers: [
        ...optionProviders,
        ThrottleRegistry,
        ThrottleGuard,
        { provide: RESTFLOW_THROTTLE_CACHE, useFactory: (registry: ThrottleRegistry) => registry.defaultCache, inject: [ThrottleRegistry] },
        { provide: APP_GUARD, useClass: GlobalThrottleGuard },
        { provide: APP_FILTER, useClass: ThrottledExceptionFilter },
      ],
      exports: [RESTFLOW_THROTTLE_OPTIONS, RESTFLOW_THROTTLE_CACHE, ThrottleRegistry, ThrottleGuard],
    };
  }
}
