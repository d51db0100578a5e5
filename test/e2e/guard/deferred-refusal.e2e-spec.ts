/**
 * A refusal over HTTP is handed to Nest as a promise that rejects a microtask later, not thrown from the guard
 * (issue 23 item 1): thrown, it rejects each async frame of Nest's route handler before anything awaits it,
 * which costs about a fifth of a refusal's CPU time. Both paths: the usual route (one rate throttle, no
 * headers) and the general one (headers on). The answer itself is unchanged (tests in test/e2e/exceptions/).
 */
import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { Test } from '@nestjs/testing';
import {
  AnonRateThrottle,
  type RestflowThrottleOptions,
  RestflowThrottleModule,
  Throttle,
  ThrottledException,
  ThrottleGuard,
} from 'restflow-throttle';

@Controller('deferred')
class DeferredController {
  @Get()
  @Throttle([AnonRateThrottle])
  get() {
    return 'ok';
  }
}

async function appWith(options: RestflowThrottleOptions): Promise<INestApplication> {
  @Module({ imports: [RestflowThrottleModule.forRoot(options)], controllers: [DeferredController] })
  class AppModule {}
  const app = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({
    logger: false,
  });
  return app.init();
}

describe.each([false, 'ietf'] as const)('a refusal over HTTP, headers %s', (headers) => {
  it('is a promise that rejects with ThrottledException, Retry-After set by then; nothing is thrown', async () => {
    const app = await appWith({ rates: { anon: '2/min' }, headers });
    try {
      const guard = app.get(ThrottleGuard);
      const response = new Map<string, string>();
      const setHeader = (name: string, value: string) => void response.set(name.toLowerCase(), value);
      const request = { ip: '203.0.113.9', headers: {}, socket: { remoteAddress: '203.0.113.9' } };
      const context = () =>
        new ExecutionContextHost([request, { setHeader }], DeferredController, DeferredController.prototype.get);
      expect(await guard.canActivate(context())).toBe(true);
      expect(await guard.canActivate(context())).toBe(true);
      let answer: unknown;
      expect(() => {
        answer = guard.canActivate(context());
      }).not.toThrow();
      expect(answer).toBeInstanceOf(Promise);
      await expect(answer).rejects.toBeInstanceOf(ThrottledException);
      expect(response.get('retry-after')).toBe('60');
    } finally {
      await app.close();
    }
  });
});
