/**
 * Weighted requests (issue 23 item 4) on the memory store and a get/set cache, on Express and Fastify: the
 * scenarios of test/helpers/costs-and-blocks/request-cost.ts (test/redis/request-cost.e2e-spec.ts runs them on
 * Redis), and bad literals refused at startup with their code.
 */
import { Controller, Get } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { caching } from 'cache-manager';
import { ImproperlyConfiguredError, RestflowThrottleModule, Throttle, ThrottleCost } from 'restflow-throttle';
import { CapturingLogger } from '../../helpers/http-app';
import { describeRequestCost } from '../../helpers/costs-and-blocks/request-cost';
import { BulkThrottle, GateThrottle } from '../../helpers/costs-and-blocks/routes';

describeRequestCost('the memory store', async () => ({}));
describeRequestCost("a get/set cache (cache-manager's memory cache)", async () => ({
  cache: await caching('memory', { max: 1000, ttl: 0 }),
}));

/** `app.init()` of `controller` with the bulk rate (10/min); the logger keeps the warnings. */
async function init(controller: Function, logger = new CapturingLogger()): Promise<void> {
  const moduleRef = await Test.createTestingModule({
    imports: [RestflowThrottleModule.forRoot({ rates: { bulk: '10/min' } })],
    controllers: [controller as new () => object],
  }).compile();
  const app = moduleRef.createNestApplication({ logger });
  try {
    await app.init();
  } finally {
    await app.close();
  }
}

async function startupError(controller: Function): Promise<ImproperlyConfiguredError> {
  try {
    await init(controller);
  } catch (error) {
    expect(error).toBeInstanceOf(ImproperlyConfiguredError);
    return error as ImproperlyConfiguredError;
  }
  throw new Error('expected the app not to start');
}

describe('a bad @ThrottleCost() literal stops the app', () => {
  it.each([[-1], [2.5], [Number.NaN], ['5'], [null]])(
    '@ThrottleCost(%p): RFT_INVALID_THROTTLE_COST, naming the handler',
    async (cost) => {
      @Controller('bad')
      class BadController {
        @Get() @Throttle([BulkThrottle]) @ThrottleCost(cost as number) bad() {
          return { ok: true };
        }
      }
      const error = await startupError(BadController);
      expect(error.code).toBe('RFT_INVALID_THROTTLE_COST');
      expect(error.message).toContain('on BadController.bad: a cost is a whole number >= 0');
    },
  );

  it('a fixed cost above the limit would refuse every request: RFT_INVALID_THROTTLE_COST', async () => {
    @Controller('big')
    class BigController {
      @Get() @Throttle([BulkThrottle]) @ThrottleCost(11) big() {
        return { ok: true };
      }
    }
    const error = await startupError(BigController);
    expect(error.code).toBe('RFT_INVALID_THROTTLE_COST');
    expect(error.message).toBe(
      "@ThrottleCost(11) is more than the 10 requests 'BulkThrottle' allows per window, so every request would be " +
        'refused: lower the cost or raise the rate. (on BigController.big)',
    );
  });

  it('a cost on a route with no rate throttle is warned about', async () => {
    @Controller('gate')
    class GateController {
      @Get() @Throttle([GateThrottle]) @ThrottleCost(3) gate() {
        return { ok: true };
      }
    }
    const logger = new CapturingLogger();
    await init(GateController, logger);
    expect(logger.warnings).toContain(
      'GateController.gate has @ThrottleCost() but no rate throttle to count it, so it has no effect.',
    );
  });
});
