/**
 * The app's own filter for `ThrottledException` wins in GraphQL (Apollo,
 * Mercurius), WebSocket (socket.io, ws) and RPC (TCP) handlers too: it
 * receives the refusal, with its wait and detail, and its answer reaches the
 * client (GraphQL over HTTP still sends `Retry-After`). A catch-all, or no
 * filter at all, keeps the transport's own answer.
 */
import { jest } from '@jest/globals';
import {
  type ArgumentsHost,
  Catch,
  Controller,
  type ExceptionFilter,
  type INestApplication,
  type ModuleMetadata,
  UseFilters,
} from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { MessagePattern, Payload, Transport, BaseRpcExceptionFilter, ClientProxyFactory } from '@nestjs/microservices';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import { BaseWsExceptionFilter, MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { GraphQLError } from 'graphql';
import type { AddressInfo, Server } from 'node:net';
import { firstValueFrom, throwError, type Observable } from 'rxjs';
import {
  AnonRateThrottle,
  RestflowThrottleModule,
  SimpleRateThrottle,
  Throttle,
  ThrottledException,
} from 'restflow-throttle';
import { Query, Resolver } from '@nestjs/graphql';
import { Article, ArticleResolver, gql, graphqlApp } from '../../helpers/contexts/graphql-app';
import { WS_TRANSPORTS } from '../../helpers/contexts/gateway-app';
import { connect } from '../../helpers/contexts/ws-clients';
import { FakeClock, PLATFORMS, type Platform, serve, type TestApp } from '../../helpers/http-app';

const detail = (seconds: number) =>
  `Request was throttled. Expected available in ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`;

/** What the app's filters saw: the context type, the wait and the detail. */
const seen: { type: string; wait: number | null; detail: string }[] = [];
const record = (exception: ThrottledException, host: ArgumentsHost) =>
  seen.push({ type: host.getType(), wait: exception.wait, detail: exception.detail });

/** Answers a refusal in the app's words, in whichever transport it happened. */
@Catch(ThrottledException)
class SlowDownFilter implements ExceptionFilter {
  catch(exception: ThrottledException, host: ArgumentsHost): Observable<never> | undefined {
    record(exception, host);
    const type = host.getType<string>();
    if (type === 'graphql')
      throw new GraphQLError('Slow down', { extensions: { code: 'SLOW_DOWN', wait: exception.wait } });
    if (type === 'rpc') return throwError(() => ({ code: 'SLOW_DOWN', wait: exception.wait }));
    const client = host.switchToWs().getClient<{ emit?(e: string, d: unknown): void; send?(raw: string): void }>();
    const data = { code: 'SLOW_DOWN', wait: exception.wait };
    if ('readyState' in client) client.send!(JSON.stringify({ event: 'slow-down', data }));
    else client.emit!('slow-down', data);
    return undefined;
  }
}

/** A catch-all that reports what it saw and lets the transport answer as it does without it. */
const caught: unknown[] = [];
@Catch()
class GraphQLReportingFilter implements ExceptionFilter {
  catch(exception: unknown): never {
    caught.push(exception);
    throw exception;
  }
}
@Catch()
class RpcReportingFilter extends BaseRpcExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): Observable<unknown> {
    caught.push(exception);
    return super.catch(exception, host);
  }
}

const clock = new FakeClock();
beforeAll(() => {
  jest.spyOn(SimpleRateThrottle.prototype, 'timer').mockImplementation(() => clock.now);
});
afterAll(() => jest.restoreAllMocks());
beforeEach(() => {
  seen.length = 0;
  caught.length = 0;
});

async function start(platform: Platform, metadata: ModuleMetadata, configure?: (app: INestApplication) => void) {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app =
    platform === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
      : moduleRef.createNestApplication({ logger: false });
  configure?.(app);
  return serve(app);
}

/** A handler that refuses by itself: its `ThrottledException` reaches the module's filter. */
@Resolver()
class BusyResolver {
  @Query(() => String)
  busy(): string {
    throw new ThrottledException(7);
  }
}

/** The helper's `article` query alone, with the app's filter bound on the resolver. */
@Resolver(() => Article)
@Throttle([AnonRateThrottle])
@UseFilters(SlowDownFilter)
class FilteredArticleResolver {
  @Query(() => Article, { nullable: true })
  article(): Article {
    return { id: '1', title: 'Hello' };
  }
}

describe.each(PLATFORMS)('GraphQL on %s (Apollo on Express, Mercurius on Fastify)', (platform) => {
  let t: TestApp;
  afterEach(() => t.close());
  const article = '{ article { id } }';
  const base = graphqlApp(platform);

  async function throttledAnswer() {
    for (let i = 0; i < 3; i++) expect((await gql(t.url, article)).errors).toEqual([]);
    return gql(t.url, article);
  }
  const expectSlowDown = async () => {
    const response = await throttledAnswer();
    expect(response.errors.map((e) => ({ message: e.message, extensions: e.extensions }))).toEqual([
      { message: 'Slow down', extensions: { code: 'SLOW_DOWN', wait: 60 } },
    ]);
    expect(response.retryAfter).toBe('60');
    expect(seen).toEqual([{ type: 'graphql', wait: 60, detail: detail(60) }]);
  };

  it('an APP_FILTER for ThrottledException receives the refusal and answers', async () => {
    t = await start(platform, {
      ...base,
      providers: [...base.providers!, { provide: APP_FILTER, useClass: SlowDownFilter }],
    });
    await expectSlowDown();
  });

  it("it receives the app's own ThrottledException from the module's throttledException", async () => {
    const own = graphqlApp(platform, { throttledException: (info) => new ThrottledException(info.wait, 'Easy.') });
    t = await start(platform, {
      ...own,
      providers: [...own.providers!, { provide: APP_FILTER, useClass: SlowDownFilter }],
    });
    expect((await throttledAnswer()).errors.map((e) => e.extensions?.code)).toEqual(['SLOW_DOWN']);
    expect(seen).toEqual([{ type: 'graphql', wait: 60, detail: 'Easy. Expected available in 60 seconds.' }]);
  });

  it('so does one added with useGlobalFilters', async () => {
    t = await start(platform, base, (app) => app.useGlobalFilters(new SlowDownFilter()));
    await expectSlowDown();
  });

  it('and one bound with @UseFilters on the resolver', async () => {
    const providers = base.providers!.map((p) => (p === ArticleResolver ? FilteredArticleResolver : p));
    t = await start(platform, { ...base, providers });
    await expectSlowDown();
  });

  it('a catch-all sees the GraphQL error, and the client gets it as without the filter', async () => {
    t = await start(platform, {
      ...base,
      providers: [...base.providers!, { provide: APP_FILTER, useClass: GraphQLReportingFilter }],
    });
    const response = await throttledAnswer();
    expect(response.errors.map((e) => [e.message, e.extensions?.code, e.extensions?.retryAfter])).toEqual([
      [detail(60), 'THROTTLED', 60],
    ]);
    expect(caught.map((e) => (e as Error).name)).toEqual(['ThrottledGraphQLError']);
  });

  it('without a filter of the app: the GraphQL error with the detail, code and wait, and Retry-After', async () => {
    t = await start(platform, base);
    const response = await throttledAnswer();
    expect(response.errors.map((e) => [e.message, e.extensions?.code, e.extensions?.retryAfter])).toEqual([
      [detail(60), 'THROTTLED', 60],
    ]);
    expect(response.retryAfter).toBe('60');
  });

  it("a ThrottledException a resolver throws itself is answered in GraphQL's form by the module's filter", async () => {
    t = await start(platform, { ...base, providers: [...base.providers!, BusyResolver] });
    const response = await gql(t.url, '{ busy }');
    expect(response.errors.map((e) => [e.message, e.extensions?.code, e.extensions?.retryAfter])).toEqual([
      [detail(7), 'THROTTLED', 7],
    ]);
    expect(response.retryAfter).toBe('7');
  });
});

@WebSocketGateway()
@Throttle([AnonRateThrottle])
class EchoGateway {
  @SubscribeMessage('chat')
  chat(@MessageBody() text: string) {
    return { event: 'chat', data: `echo ${text}` };
  }
}
@UseFilters(SlowDownFilter)
class FilteredGateway extends EchoGateway {}
@UseFilters(new BaseWsExceptionFilter())
class CatchAllGateway extends EchoGateway {}

const wsCases = PLATFORMS.flatMap((platform) => WS_TRANSPORTS.map((transport) => [platform, transport] as const));
describe.each(wsCases)('WebSockets on %s with %s', (platform, transport) => {
  let t: TestApp;
  afterEach(() => t.close());

  async function answers(gateway: Function, providers: ModuleMetadata['providers'] = []) {
    t = await start(
      platform,
      {
        imports: [RestflowThrottleModule.forRoot({ rates: { anon: '2/min' } })],
        providers: [gateway as new () => object, ...providers],
      },
      (app) => app.useWebSocketAdapter(transport === 'ws' ? new WsAdapter(app) : new IoAdapter(app)),
    );
    const client = await connect(transport, t.url);
    try {
      return [await client.send('chat', 'a'), await client.send('chat', 'b'), await client.send('chat', 'c')];
    } finally {
      client.close();
    }
  }
  const exceptionEvent = {
    event: 'exception',
    data: {
      status: 'error',
      message: detail(60),
      code: 'THROTTLED',
      retryAfter: 60,
      cause: { pattern: 'chat', data: 'c' },
    },
  };

  it('a filter for ThrottledException bound with @UseFilters on the gateway receives the refusal', async () => {
    expect((await answers(FilteredGateway))[2]).toEqual({ event: 'slow-down', data: { code: 'SLOW_DOWN', wait: 60 } });
    expect(seen).toEqual([{ type: 'ws', wait: 60, detail: detail(60) }]);
  });

  it("an APP_FILTER is not asked (Nest runs no global filter in gateways): Nest's exception event", async () => {
    expect((await answers(EchoGateway, [{ provide: APP_FILTER, useClass: SlowDownFilter }]))[2]).toEqual(
      exceptionEvent,
    );
    expect(seen).toEqual([]);
  });

  it("a catch-all (Nest's BaseWsExceptionFilter) gets the WsException: the exception event as without it", async () => {
    expect((await answers(CatchAllGateway))[2]).toEqual(exceptionEvent);
  });

  it("without a filter of the app: Nest's exception event with the detail and the wait", async () => {
    expect(await answers(EchoGateway)).toEqual([
      { event: 'chat', data: 'echo a' },
      { event: 'chat', data: 'echo b' },
      exceptionEvent,
    ]);
  });
});

@Controller()
@Throttle([AnonRateThrottle])
class SumController {
  @MessagePattern('sum')
  sum(@Payload() numbers: number[]): number {
    return numbers.reduce((a, b) => a + b, 0);
  }
}
@UseFilters(SlowDownFilter)
class FilteredSumController extends SumController {}
@Controller()
class BusyController {
  @MessagePattern('busy')
  busy(): never {
    throw new ThrottledException(7);
  }
}

describe('RPC over TCP', () => {
  async function answers(
    controller: Function,
    providers: ModuleMetadata['providers'] = [],
    global?: ExceptionFilter,
    pattern = 'sum',
  ) {
    const moduleRef = await Test.createTestingModule({
      imports: [RestflowThrottleModule.forRoot({ rates: { anon: '2/min' } })],
      controllers: [controller as new () => object],
      providers,
    }).compile();
    const app = moduleRef.createNestMicroservice({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port: 0 },
      logger: false,
    });
    if (global !== undefined) app.useGlobalFilters(global);
    await app.listen();
    const port = (app.unwrap<Server>().address() as AddressInfo).port;
    const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    const results: unknown[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        results.push(await firstValueFrom(client.send(pattern, [1, 2])).catch((error: unknown) => ({ error })));
      }
    } finally {
      await client.close();
      await app.close();
    }
    return results;
  }
  const slowDown = { error: { code: 'SLOW_DOWN', wait: 60 } };
  const rpcError = { error: { status: 'error', message: detail(60), code: 'THROTTLED', retryAfter: 60 } };

  it('an APP_FILTER for ThrottledException receives the refusal and its error reaches the client', async () => {
    expect(await answers(SumController, [{ provide: APP_FILTER, useClass: SlowDownFilter }])).toEqual([3, 3, slowDown]);
    expect(seen).toEqual([{ type: 'rpc', wait: 60, detail: detail(60) }]);
  });

  it('so does one added with useGlobalFilters, and one bound with @UseFilters on the controller', async () => {
    expect((await answers(SumController, [], new SlowDownFilter()))[2]).toEqual(slowDown);
    expect((await answers(FilteredSumController))[2]).toEqual(slowDown);
    expect(seen.map((s) => s.type)).toEqual(['rpc', 'rpc']);
  });

  it('a catch-all extending BaseRpcExceptionFilter gets the RpcException: the RPC error as without it', async () => {
    expect((await answers(SumController, [{ provide: APP_FILTER, useClass: RpcReportingFilter }]))[2]).toEqual(
      rpcError,
    );
    expect(caught).toHaveLength(1);
  });

  it('without a filter of the app: the RPC error with the detail, the code and the wait', async () => {
    expect(await answers(SumController)).toEqual([3, 3, rpcError]);
  });

  it("a ThrottledException a handler throws itself is answered in the RPC form by the module's filter", async () => {
    const error = { error: { status: 'error', message: detail(7), code: 'THROTTLED', retryAfter: 7 } };
    expect((await answers(BusyController, [], undefined, 'busy'))[0]).toEqual(error);
  });
});
