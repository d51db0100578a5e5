/**
 * Issue 24, item 1, on WebSockets (socket.io and ws, on Express): a gateway is
 * throttled however it is provided. The attack: `@Throttle([LoginThrottle])`
 * (5/min) on a `login` message and `@Throttle([ConnectionRateThrottle])`
 * (3/min) on `handleConnection`, the gateway provided as a class, with
 * `useClass`, request-scoped, with a request-scoped dependency, transient, or
 * aliased with `useExisting`: the 6th login and the 4th connection are
 * refused. Nest only treats class providers as gateways: one provided with
 * `useFactory` or `useValue` is not served at all, which the last test pins.
 */
import { Injectable, Scope, type INestApplication, type Provider } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import { SubscribeMessage, WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import {
  RestflowThrottleModule,
  SimpleRateThrottle,
  Throttle,
  throttleConnection,
  type ThrottleRequest,
} from 'restflow-throttle';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { serve, type TestApp } from '../../helpers/http-app';
import { WS_TRANSPORTS, type WsTransport } from '../../helpers/contexts/gateway-app';
import { connect, type GatewayClient } from '../../helpers/contexts/ws-clients';

/** Per client address, for logins and for connections. */
class LoginThrottle extends SimpleRateThrottle {
  override scope = 'login';
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(this.getIdent(request));
  }
}

class ConnectionRateThrottle extends SimpleRateThrottle {
  override scope = 'connect';
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(this.getIdent(request));
  }
}

/** The gateway body every form shares: a throttled message and throttled connections. */
function authGateway(options: { scope?: Scope; reply?: string } = {}) {
  @WebSocketGateway()
  @Injectable(options.scope === undefined ? {} : { scope: options.scope })
  class AuthGateway implements OnGatewayConnection {
    @SubscribeMessage('login')
    @Throttle([LoginThrottle])
    login(): { event: string; data: string } {
      return { event: 'login', data: options.reply ?? 'token' };
    }

    @Throttle([ConnectionRateThrottle])
    async handleConnection(client: object, request?: IncomingMessage): Promise<void> {
      await throttleConnection(this, client, request);
    }
  }
  return AuthGateway;
}

const AuthGateway = authGateway();
const OtherAuthGateway = authGateway({ reply: 'other token' });
const RequestScopedAuthGateway = authGateway({ scope: Scope.REQUEST });
const TransientAuthGateway = authGateway({ scope: Scope.TRANSIENT });

@Injectable({ scope: Scope.REQUEST })
class RequestDependency {}

@WebSocketGateway()
class DependentAuthGateway implements OnGatewayConnection {
  constructor(readonly dependency: RequestDependency) {}

  @SubscribeMessage('login')
  @Throttle([LoginThrottle])
  login(): { event: string; data: string } {
    return { event: 'login', data: 'token' };
  }

  @Throttle([ConnectionRateThrottle])
  async handleConnection(client: object, request?: IncomingMessage): Promise<void> {
    await throttleConnection(this, client, request);
  }
}

const detail = 'Request was throttled. Expected available in 60 seconds.';
const refused = (pattern: string, data?: unknown) => ({
  event: 'exception',
  data: { status: 'error', message: detail, code: 'THROTTLED', retryAfter: 60, cause: { pattern, data } },
});

/** The promise's value, or a failure once 2 s have passed: a connection let through must fail the test, not hang it. */
function within<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 2 s')), 2000).unref()),
  ]);
}

async function start(transport: WsTransport, providers: Provider[]): Promise<TestApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [RestflowThrottleModule.forRoot({ rates: { login: '5/min', connect: '3/min' } })],
    providers,
  }).compile();
  const app: INestApplication = moduleRef.createNestApplication({ logger: false });
  app.useWebSocketAdapter(transport === 'ws' ? new WsAdapter(app) : new IoAdapter(app));
  return serve(app);
}

describe.each(WS_TRANSPORTS)('a throttled gateway, however it is provided (%s)', (transport) => {
  let t: TestApp | undefined;
  const clients: GatewayClient[] = [];
  const open = async () => {
    const client = await connect(transport, t!.url);
    clients.push(client);
    return client;
  };
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await t?.close();
    t = undefined;
  });

  it.each<[string, Provider[], string]>([
    ['as a class', [AuthGateway], 'token'],
    ['with useClass', [{ provide: AuthGateway, useClass: OtherAuthGateway }], 'other token'],
    ['aliased with useExisting', [AuthGateway, { provide: 'AUTH', useExisting: AuthGateway }], 'token'],
    ['request-scoped', [RequestScopedAuthGateway], 'token'],
    ['with a request-scoped dependency', [DependentAuthGateway, RequestDependency], 'token'],
    ['transient', [TransientAuthGateway], 'token'],
  ])('%s: the 6th login and the 4th connection are refused', async (_form, providers, token) => {
    t = await start(transport, providers);
    const client = await open();
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await client.send('login', i));
    expect(answers).toEqual([...Array(5).fill({ event: 'login', data: token }), refused('login', 5)]);
    await open();
    await open();
    const fourth = await open();
    expect(await within(fourth.next())).toEqual(refused('connection'));
    expect(await within(fourth.closed)).toBe(transport === 'ws' ? 1013 : 'io server disconnect');
  });

  it('request-scoped, in two apps alive at once: a connection counts in the app it reached', async () => {
    t = await start(transport, [RequestScopedAuthGateway]);
    const other = await start(transport, [RequestScopedAuthGateway]);
    try {
      await open();
      await open();
      await open();
      const elsewhere = await connect(transport, other.url);
      clients.push(elsewhere);
      expect(await elsewhere.send('login', 0)).toEqual({ event: 'login', data: 'token' });
      const fourth = await open();
      expect(await within(fourth.next())).toEqual(refused('connection'));
    } finally {
      await other.close();
    }
  });

  it.each<[string, Provider[]]>([
    ['useFactory', [{ provide: AuthGateway, useFactory: () => new AuthGateway() }]],
    ['useValue', [{ provide: AuthGateway, useValue: new AuthGateway() }]],
  ])('with %s: Nest makes no gateway of it, so nothing is served (nothing to throttle)', async (_form, providers) => {
    t = await start(transport, providers);
    const url = t.url;
    const failure = await new Promise<string>((resolve) => {
      if (transport === 'ws') {
        const socket = new WebSocket(url.replace('http', 'ws'));
        socket.on('open', () => resolve('open'));
        socket.on('error', (error) => resolve(error.message));
      } else {
        const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
        socket.on('connect', () => resolve('open'));
        socket.on('connect_error', (error) => resolve(error.message));
      }
    });
    expect(failure).toBe(transport === 'ws' ? 'Unexpected server response: 404' : 'websocket error');
  });
});
