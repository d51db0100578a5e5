/**
 * Issue 24, item 1, over HTTP (Express and Fastify): a controller is
 * throttled however Nest builds it. The attack: `@Throttle([LoginThrottle])`
 * (5/min) on `POST /login` of a controller that is request-scoped, that
 * depends on a request-scoped provider (so Nest builds it per request too),
 * or that depends on a transient provider: the 6th call is a 429.
 * Controllers are always classes (Nest has no `useFactory` controller).
 */
import { Controller, Injectable, Post, Scope, type Type } from '@nestjs/common';
import { RestflowThrottleModule, SimpleRateThrottle, Throttle, type ThrottleRequest } from 'restflow-throttle';
import { PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';

/** Login attempts per client address. */
class LoginThrottle extends SimpleRateThrottle {
  override scope = 'login';
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(this.getIdent(request));
  }
}

@Controller({ scope: Scope.REQUEST })
class RequestScopedAuthController {
  @Post('login')
  @Throttle([LoginThrottle])
  login(): string {
    return 'token';
  }
}

@Injectable({ scope: Scope.REQUEST })
class RequestDependency {
  readonly value = 'token';
}

@Controller()
class RequestDependentAuthController {
  constructor(private readonly dependency: RequestDependency) {}

  @Post('login')
  @Throttle([LoginThrottle])
  login(): string {
    return this.dependency.value;
  }
}

@Injectable({ scope: Scope.TRANSIENT })
class TransientDependency {
  readonly value = 'token';
}

@Controller()
class TransientDependentAuthController {
  constructor(private readonly dependency: TransientDependency) {}

  @Post('login')
  @Throttle([LoginThrottle])
  login(): string {
    return this.dependency.value;
  }
}

describe.each(PLATFORMS)('a throttled controller, however Nest builds it (%s)', (platform) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it.each<[string, Type, Type[]]>([
    ['request-scoped', RequestScopedAuthController, []],
    ['with a request-scoped dependency', RequestDependentAuthController, [RequestDependency]],
    ['with a transient dependency', TransientDependentAuthController, [TransientDependency]],
  ])('%s: the 6th login is a 429', async (_form, controller, providers) => {
    t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { login: '5/min' } })],
      controllers: [controller],
      providers,
    });
    const answers = [];
    for (let i = 0; i < 6; i++) {
      const response = await t.request('/login', { method: 'POST' });
      answers.push([response.status, response.text]);
    }
    expect(answers).toEqual([
      ...Array(5).fill([201, 'token']),
      [429, JSON.stringify({ detail: 'Request was throttled. Expected available in 60 seconds.' })],
    ]);
  });
});
