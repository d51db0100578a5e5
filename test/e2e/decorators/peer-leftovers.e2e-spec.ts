/**
 * `@nestjs/throttler`'s decorator forms, left in an app whose build does not
 * type-check (SWC, transpile-only), are refused when the app starts, naming
 * the handler and saying what to write: never a silent skip of every
 * throttle, never a TypeError on a request.
 */
import { Controller, Get, type Type } from '@nestjs/common';
import {
  AnonRateThrottle,
  ImproperlyConfiguredError,
  RestflowThrottleModule,
  SkipThrottle,
  Throttle,
} from 'restflow-throttle';
import { PLATFORMS, startApp } from '../../helpers/http-app';

/** What a transpile-only build hands the decorators: no type check stops the peer's arguments. */
const LeftoverThrottle = Throttle as unknown as (options: unknown) => MethodDecorator & ClassDecorator;
const LeftoverSkip = SkipThrottle as unknown as (options: unknown) => MethodDecorator & ClassDecorator;

const throttling = () =>
  RestflowThrottleModule.forRoot({ defaultThrottles: [AnonRateThrottle], rates: { anon: '1/s' } });

async function startError(platform: (typeof PLATFORMS)[number], controller: Type): Promise<unknown> {
  try {
    const t = await startApp(platform, { imports: [throttling()], controllers: [controller] });
    await t.close();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe.each(PLATFORMS)('leftover @nestjs/throttler decorators on %s', (platform) => {
  it('@SkipThrottle({ short: true }) on a handler: refused at startup, naming it', async () => {
    @Controller('a')
    class SkipController {
      @Get() @LeftoverSkip({ short: true }) get() {
        return 'ok';
      }
    }
    const error = await startError(platform, SkipController);
    expect(error).toBeInstanceOf(ImproperlyConfiguredError);
    expect((error as ImproperlyConfiguredError).code).toBe('RFT_PEER_DECORATOR');
    expect((error as Error).message).toMatch(
      /^@SkipThrottle\(\{"short":true\}\) on SkipController\.get is @nestjs\/throttler's form/,
    );
    expect((error as Error).message).toMatch(/List the throttles that stay/);
  });

  it('@Throttle({ default: { limit, ttl } }) on a handler: refused at startup, with the rate to write', async () => {
    @Controller('b')
    class NamedController {
      @Get() @LeftoverThrottle({ default: { limit: 5, ttl: 60_000 } }) get() {
        return 'ok';
      }
    }
    const error = await startError(platform, NamedController);
    expect((error as ImproperlyConfiguredError).code).toBe('RFT_PEER_DECORATOR');
    expect((error as Error).message).toContain('NamedController.get');
    expect((error as Error).message).toContain("rates: { default: '5/60s' }");
  });

  it('@Throttle({ default: { limit, ttl, blockDuration } }): the block to write too', async () => {
    @Controller('bd')
    class BlockedController {
      @Get() @LeftoverThrottle({ default: { limit: 5, ttl: 60_000, blockDuration: 900_000 } }) get() {
        return 'ok';
      }
    }
    const error = await startError(platform, BlockedController);
    expect((error as ImproperlyConfiguredError).code).toBe('RFT_PEER_DECORATOR');
    expect((error as Error).message).toContain(
      "(here: rates: { default: '5/60s' }, blockDurations: { default: '900s' })",
    );
  });

  it('@Throttle({ limit, ttl }) on a controller: refused at startup for its handlers', async () => {
    @Controller('c')
    @LeftoverThrottle({ limit: 3, ttl: 1000 })
    class OldController {
      @Get() get() {
        return 'ok';
      }
    }
    const error = await startError(platform, OldController);
    expect((error as ImproperlyConfiguredError).code).toBe('RFT_PEER_DECORATOR');
    expect((error as Error).message).toContain('OldController.get');
  });
});
