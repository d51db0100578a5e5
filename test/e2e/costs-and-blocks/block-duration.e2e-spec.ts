/**
 * `blockDuration` (issue 21 item 4) on the memory store and a get/set cache, on Express and Fastify: the
 * scenarios of test/helpers/costs-and-blocks/block-duration.ts (test/redis/block-duration.e2e-spec.ts runs them
 * on Redis), and a malformed block refused at startup with its code.
 */
import { Controller, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { caching } from 'cache-manager';
import { ImproperlyConfiguredError, RestflowThrottleModule, Throttle } from 'restflow-throttle';
import { describeBlockDuration } from '../../helpers/costs-and-blocks/block-duration';
import { ClientThrottle } from '../../helpers/costs-and-blocks/routes';

describeBlockDuration('the memory store', async () => ({}));
describeBlockDuration("a get/set cache (cache-manager's memory cache)", async () => ({
  cache: await caching('memory', { max: 1000, ttl: 0 }),
}));

class SoonThrottle extends ClientThrottle {
  override scope = 'login';
  override blockDuration = 'soon';
}

@Controller('soon')
class SoonController {
  @Post() @Throttle([SoonThrottle]) login() {
    return { ok: true };
  }
}

/** The error `forRoot()` or `app.init()` stops with. */
async function startupError(run: () => Promise<unknown>): Promise<ImproperlyConfiguredError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(ImproperlyConfiguredError);
    return error as ImproperlyConfiguredError;
  }
  throw new Error('expected the app not to start');
}

describe('a malformed block stops the app', () => {
  it.each([['15 minutes please'], ['-1m'], [-5], [Number.NaN], [true]])(
    'blockDurations.login = %p: RFT_INVALID_BLOCK_DURATION from forRoot()',
    async (block) => {
      const error = await startupError(async () =>
        RestflowThrottleModule.forRoot({ rates: { login: '3/min' }, blockDurations: { login: block as string } }),
      );
      expect(error.code).toBe('RFT_INVALID_BLOCK_DURATION');
      expect(error.message).toContain('blockDurations.login must be a duration such as');
    },
  );

  it('blockDurations must be a map', async () => {
    const error = await startupError(async () =>
      RestflowThrottleModule.forRoot({ blockDurations: ['15m'] as unknown as Record<string, string> }),
    );
    expect(error.code).toBe('RFT_INVALID_BLOCK_DURATION');
  });

  it("a throttle's own blockDuration: RFT_INVALID_BLOCK_DURATION at app.init(), naming the handler", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [RestflowThrottleModule.forRoot({ rates: { login: '3/min' } })],
      controllers: [SoonController],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    const error = await startupError(() => app.init());
    await app.close();
    expect(error.code).toBe('RFT_INVALID_BLOCK_DURATION');
    expect(error.message).toMatch(
      /^SoonThrottle\.blockDuration must be a duration .* got "soon"\. \(on SoonController\.login\)$/,
    );
  });

  it("accepts '15m', '15min', '30s', '1h', '2d', 90 and 0", () => {
    const blocks = { a: '15m', b: '15min', c: '30s', d: '1h', e: '2d', f: 90, g: 0 };
    expect(() => RestflowThrottleModule.forRoot({ blockDurations: blocks })).not.toThrow();
  });
});
