/**
 * Whatever a throttle does, the request gets one answer and the process
 * keeps serving: errors thrown or rejected by any throttle (sync or async,
 * any thenable) are that request's error; a sibling's pending promise is
 * always awaited (never an unhandled rejection); values from user code are
 * checked (a wait that is not a finite number >= 0 is no wait; user ids that
 * are not strings, numbers, bigints or Buffers are an error that says so).
 */
import { Controller, Get, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  BaseThrottle,
  RestflowThrottleModule,
  SimpleRateThrottle,
  Throttle,
  UserRateThrottle,
  type ThrottleRequest,
} from 'restflow-throttle';
import { CapturingLogger, PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';

/** A thenable that is not a native promise (another realm, Bluebird, a library's own). */
const thenable = <T>(value: T): PromiseLike<T> => ({
  then: ((resolve: (v: T) => void) => resolve(value)) as PromiseLike<T>['then'],
});

class RejectsLater extends BaseThrottle {
  allowRequest(): Promise<boolean> {
    return new Promise((_, reject) => setTimeout(() => reject(new Error('cache down')), 20));
  }
}
class KeyThrows extends SimpleRateThrottle {
  override rate = '5/min';
  getCacheKey(): string {
    throw new Error('no key for you');
  }
}
class DeniesWithThenable extends BaseThrottle {
  allowRequest() {
    return thenable(false);
  }
  override wait(): number {
    return 7;
  }
}
class Allows extends BaseThrottle {
  allowRequest(): boolean {
    return true;
  }
}
class ThenableKey extends SimpleRateThrottle {
  override rate = '1/min';
  getCacheKey() {
    return thenable('throttle_thenable_key');
  }
}
const denyWaiting = (value: number) =>
  class extends BaseThrottle {
    allowRequest(): boolean {
      return false;
    }
    override wait(): number {
      return value;
    }
  };
const Infinite = denyWaiting(Infinity);
const NotANumber = denyWaiting(NaN);
const Negative = denyWaiting(-3);
const Five = denyWaiting(5);

@Controller()
class ErrorsController {
  @Get('crash') @Throttle([RejectsLater, KeyThrows]) crash() {
    return 'ran';
  }
  @Get('thenable-alone') @Throttle([DeniesWithThenable]) alone() {
    return 'ran';
  }
  @Get('thenable-stacked') @Throttle([Allows, DeniesWithThenable]) stacked() {
    return 'ran';
  }
  @Get('thenable-key') @Throttle([ThenableKey]) key() {
    return 'ran';
  }
  @Get('bad-waits') @Throttle([Infinite, NotANumber, Negative]) badWaits() {
    return 'ran';
  }
  @Get('nan-and-five') @Throttle([NotANumber, Five, Infinite]) nanAndFive() {
    return 'ran';
  }
  @Get('users') @Throttle([UserRateThrottle]) users() {
    return 'ran';
  }
}

/** `x-user: buffer:<text>` or `x-user: object` sets request.user's id to such a value. */
@Injectable()
class OddIdentities implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<ThrottleRequest>();
    const user = request.headers['x-user'];
    if (typeof user === 'string' && user.startsWith('buffer:')) request.user = { id: Buffer.from(user.slice(7)) };
    if (user === 'object') request.user = { id: { name: 'not an id' } };
    return true;
  }
}

describe.each(PLATFORMS)('throttle errors and odd values on %s', (platform) => {
  let t: TestApp;
  const logger = new CapturingLogger();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    t = await startApp(
      platform,
      {
        imports: [RestflowThrottleModule.forRoot({ rates: { user: '1/min' } })],
        providers: [{ provide: APP_GUARD, useClass: OddIdentities }],
        controllers: [ErrorsController],
      },
      logger,
    );
  });
  afterAll(async () => {
    await t.close();
    process.off('unhandledRejection', onUnhandled);
  });

  it('a throttle that throws while a sibling is pending: one 500, no unhandled rejection, and the app keeps serving', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await t.request('/crash');
      expect(response.status).toBe(500);
      expect(response.text).not.toContain('ran');
    }
    await new Promise((resolve) => setTimeout(resolve, 50)); // past the sibling's rejection
    expect(unhandled).toEqual([]);
    expect((await t.request('/thenable-key')).status).toBe(200);
  });

  it('a thenable false denies, alone and stacked, with its wait', async () => {
    for (const path of ['/thenable-alone', '/thenable-stacked']) {
      const response = await t.request(path);
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('7');
    }
  });

  it('a thenable cache key is a key', async () => {
    const response = await t.request('/thenable-key');
    expect(response.status).toBe(429);
  });

  it('waits that are Infinity, NaN or negative are no wait', async () => {
    const response = await t.request('/bad-waits');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBeNull();
    expect(response.body).toEqual({ detail: 'Request was throttled.' });
  });

  it('a NaN wait does not poison the longest wait', async () => {
    const response = await t.request('/nan-and-five');
    expect(response.headers.get('retry-after')).toBe('5');
    expect(response.body).toEqual({ detail: 'Request was throttled. Expected available in 5 seconds.' });
  });

  it('Buffer user ids are keyed by their bytes: two users, two buckets', async () => {
    expect((await t.request('/users', { headers: { 'x-user': 'buffer:alice' } })).status).toBe(200);
    expect((await t.request('/users', { headers: { 'x-user': 'buffer:bob' } })).status).toBe(200);
    expect((await t.request('/users', { headers: { 'x-user': 'buffer:alice' } })).status).toBe(429);
  });

  it('an object user id is an error that says what getUserId() must return', async () => {
    const response = await t.request('/users', { headers: { 'x-user': 'object' } });
    expect(response.status).toBe(500);
    expect(response.text).not.toContain('ran');
    expect(logger.errors.join('\n')).toMatch(/getUserId\(\)/);
  });
});

describe('bad numbers at startup', () => {
  it.each([2 ** 31, 1.5, 0, -1, Infinity])('cacheTimeoutMs %p is refused', (cacheTimeoutMs) => {
    expect(() => RestflowThrottleModule.forRoot({ cacheTimeoutMs })).toThrow(
      /cacheTimeoutMs must be a whole number of milliseconds from 1 to 2147483647/,
    );
  });
});
