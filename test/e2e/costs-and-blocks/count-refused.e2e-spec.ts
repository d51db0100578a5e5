/**
 * `countRefused` (issue 21 item 2) on the memory store and a get/set cache, on Express and Fastify: the
 * scenarios of test/helpers/costs-and-blocks/count-refused.ts (test/redis/count-refused.e2e-spec.ts runs them on
 * Redis), and the configurations it cannot serve refused at startup with their codes.
 */
import { Controller, Get } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { caching } from 'cache-manager';
import {
  ImproperlyConfiguredError,
  MemoryThrottleStore,
  RestflowThrottleModule,
  Throttle,
  type RestflowThrottleOptions,
  type ThrottleStore,
} from 'restflow-throttle';
import { describeCountRefused } from '../../helpers/costs-and-blocks/count-refused';
import {
  ClientThrottle,
  GateThrottle,
  LongThrottle,
  RATES,
  ShortThrottle,
} from '../../helpers/costs-and-blocks/routes';

describeCountRefused('the memory store', async () => ({}));
describeCountRefused("a get/set cache (cache-manager's memory cache)", async () => ({
  cache: await caching('memory', { max: 1000, ttl: 0 }),
}));

class OtherCacheThrottle extends ClientThrottle {
  override scope = 'long';
  override cache = 'other';
}

@Controller('x')
class StartupController {
  @Get('split') @Throttle([ShortThrottle, OtherCacheThrottle]) split() {
    return { ok: true };
  }
}

@Controller('y')
class TwoThrottlesController {
  @Get('two') @Throttle([ShortThrottle, LongThrottle]) two() {
    return { ok: true };
  }
}

@Controller('z')
class OneRateController {
  @Get('one') @Throttle([LongThrottle, GateThrottle]) one() {
    return { ok: true };
  }
}

/** A store of the app's own, with hit() only. */
function hitOnlyStore(): ThrottleStore {
  const memory = new MemoryThrottleStore();
  return { ownClock: false, hit: (...args: Parameters<ThrottleStore['hit']>) => memory.hit(...args) };
}

async function init(options: RestflowThrottleOptions, controller: Function): Promise<void> {
  const moduleRef = await Test.createTestingModule({
    imports: [RestflowThrottleModule.forRoot({ rates: RATES, ...options })],
    controllers: [controller as new () => object],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  try {
    await app.init();
  } finally {
    await app.close();
  }
}

async function startupError(run: () => Promise<unknown>): Promise<ImproperlyConfiguredError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(ImproperlyConfiguredError);
    return error as ImproperlyConfiguredError;
  }
  throw new Error('expected the app not to start');
}

describe('what countRefused: false cannot serve stops the app', () => {
  it('a value other than true or false: RFT_INVALID_OPTION', async () => {
    const error = await startupError(async () =>
      RestflowThrottleModule.forRoot({ countRefused: 'false' as unknown as boolean }),
    );
    expect(error.code).toBe('RFT_INVALID_OPTION');
    expect(error.message).toBe('RestflowThrottleModule: countRefused must be true or false, got "false".');
  });

  it('a route whose rate throttles count in different stores: RFT_COUNT_REFUSED_STORES', async () => {
    const options = { countRefused: false, caches: { other: new MemoryThrottleStore() } };
    const error = await startupError(() => init(options, StartupController));
    expect(error.code).toBe('RFT_COUNT_REFUSED_STORES');
    expect(error.message).toBe(
      "countRefused: false decides a route's rate throttles in one call to their store, but " +
        "StartupController.split's " +
        'count in 2 different stores (ShortThrottle (cache default); OtherCacheThrottle (cache other)): give them ' +
        'one cache, or keep countRefused: true. (on StartupController.split)',
    );
    // With the default, the same route starts.
    await expect(init({ caches: options.caches }, StartupController)).resolves.toBeUndefined();
  });

  it('a store without hitAll() under a route with several rate throttles: RFT_HIT_ALL_UNSUPPORTED', async () => {
    const error = await startupError(() =>
      init({ countRefused: false, cache: hitOnlyStore() }, TwoThrottlesController),
    );
    expect(error.code).toBe('RFT_HIT_ALL_UNSUPPORTED');
    expect(error.message).toContain('needs a store with hitAll() to decide TwoThrottlesController.two');
  });

  it('one rate throttle needs no hitAll()', async () => {
    await expect(init({ countRefused: false, cache: hitOnlyStore() }, OneRateController)).resolves.toBeUndefined();
  });
});
