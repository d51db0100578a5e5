/**
 * Issue 24, item 1, on a TCP microservice: a message controller is throttled
 * however Nest builds it. The attack: `@Throttle([LoginThrottle])` (5/min) on
 * a `login` message pattern of a controller that is request-scoped (Nest
 * builds it per message), that depends on a request-scoped provider, or that
 * depends on a transient provider: the 6th message is refused with the
 * throttled RPC error. Controllers are always classes (Nest has no
 * `useFactory` controller).
 */
import { Controller, Injectable, Scope, type INestMicroservice, type Type } from '@nestjs/common';
import { ClientProxyFactory, MessagePattern, Transport, type ClientProxy } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { AddressInfo, Server } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { RestflowThrottleModule, SimpleRateThrottle, Throttle, type ThrottleRequest } from 'restflow-throttle';

/** Login attempts per client address. */
class LoginThrottle extends SimpleRateThrottle {
  override scope = 'login';
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(this.getIdent(request));
  }
}

@Controller({ scope: Scope.REQUEST })
class RequestScopedAuthController {
  @MessagePattern('login')
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

  @MessagePattern('login')
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

  @MessagePattern('login')
  @Throttle([LoginThrottle])
  login(): string {
    return this.dependency.value;
  }
}

const throttled = {
  status: 'error',
  message: 'Request was throttled. Expected available in 60 seconds.',
  code: 'THROTTLED',
  retryAfter: 60,
};

describe('a throttled message controller, however Nest builds it (TCP microservice)', () => {
  let app: INestMicroservice | undefined;
  let client: ClientProxy | undefined;
  afterEach(async () => {
    await client?.close();
    await app?.close();
    client = undefined;
    app = undefined;
  });

  it.each<[string, Type, Type[]]>([
    ['request-scoped', RequestScopedAuthController, []],
    ['with a request-scoped dependency', RequestDependentAuthController, [RequestDependency]],
    ['with a transient dependency', TransientDependentAuthController, [TransientDependency]],
  ])('%s: the 6th login is refused', async (_form, controller, providers) => {
    const moduleRef = await Test.createTestingModule({
      imports: [RestflowThrottleModule.forRoot({ rates: { login: '5/min' } })],
      controllers: [controller],
      providers,
    }).compile();
    app = moduleRef.createNestMicroservice({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port: 0 },
      logger: false,
    });
    await app.listen();
    const port = (app.unwrap<Server>().address() as AddressInfo).port;
    client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    await client.connect();
    const answers = [];
    for (let i = 0; i < 6; i++) {
      answers.push(
        await firstValueFrom(client.send('login', i)).then(
          (value: unknown) => ({ value }),
          (error: unknown) => ({ error }),
        ),
      );
    }
    expect(answers).toEqual([...Array(5).fill({ value: 'token' }), { error: throttled }]);
  });
});
