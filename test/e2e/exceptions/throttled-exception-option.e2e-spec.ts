/**
 * The 429 in the user's words (issue 21 item 7): the module's `throttledException(info)` builds the error a
 * refused request gets, from the throttles that refused (class, scope, the key's hash, hits, limit, window,
 * wait), the rounded wait and the ExecutionContext. The documented one-liner keeps @nestjs/throttler's body;
 * Retry-After is still sent; over GraphQL, WebSockets and RPC an HttpException's text reaches the transport's
 * throttled error, with its code and wait.
 */
import { Controller, Get, HttpException, HttpStatus } from '@nestjs/common';
import {
  AnonRateThrottle,
  BaseThrottle,
  ImproperlyConfiguredError,
  ManualClock,
  RestflowThrottleModule,
  Throttle,
  ThrottledException,
  type RestflowThrottleOptions,
  type ThrottleDecisionEvent,
  type ThrottledInfo,
} from 'restflow-throttle';
import { PLATFORMS, startApp, type Platform, type TestApp } from '../../helpers/http-app';
import { gql, graphqlApp } from '../../helpers/contexts/graphql-app';
import { startGatewayApp, WS_TRANSPORTS } from '../../helpers/contexts/gateway-app';
import { connect } from '../../helpers/contexts/ws-clients';
import { startMicroservice } from '../../helpers/contexts/microservice-app';

/** Refuses requests that carry `x-closed`, with a wait of 30 s: a throttle without a rate or a key. */
class ClosedThrottle extends BaseThrottle {
  allowRequest(request: { headers: Record<string, unknown> }): boolean {
    return request.headers['x-closed'] === undefined;
  }
  override wait(): number {
    return 30;
  }
}

@Controller('te')
class RefusedController {
  @Get('one') @Throttle([AnonRateThrottle]) one() {
    return 'one';
  }
  @Get('two') @Throttle([AnonRateThrottle, ClosedThrottle]) two() {
    return 'two';
  }
}

/** The peer's body, as the docs write it. */
const peerBody = () => new HttpException('ThrottlerException: Too Many Requests', HttpStatus.TOO_MANY_REQUESTS);

describe.each(PLATFORMS)('throttledException over HTTP on %s', (platform: Platform) => {
  const clock = new ManualClock(1_000_000);
  let t: TestApp | undefined;
  afterEach(() => t?.close());
  const start = async (options: Partial<RestflowThrottleOptions>) => {
    clock.set(1_000_000);
    t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { anon: '2/min' }, clock: clock.read, ...options })],
      controllers: [RefusedController],
    });
    return t;
  };
  const get = (path: string, headers: Record<string, string> = {}) => (t as TestApp).request(path, { headers });

  it.each(['/te/one', '/te/two'])(
    "the documented one-liner keeps @nestjs/throttler's body, with Retry-After (%s)",
    async (path) => {
      await start({ throttledException: peerBody });
      await get(path);
      clock.advance(15);
      await get(path);
      const refused = await get(path);
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual({ statusCode: 429, message: 'ThrottlerException: Too Many Requests' });
      expect(refused.headers.get('retry-after')).toBe('45');
    },
  );

  it('a ThrottledException with its own detail: DRF body shape, the app words, the same wait', async () => {
    await start({ throttledException: ({ wait }) => new ThrottledException(wait, 'Too many login attempts.') });
    await get('/te/one');
    await get('/te/one');
    const refused = await get('/te/one');
    expect(refused.body).toEqual({ detail: 'Too many login attempts. Expected available in 60 seconds.' });
    expect(refused.headers.get('retry-after')).toBe('60');
  });

  it('is told who refused: class, scope, the key hash (never the key), hits, limit, window, wait, the context', async () => {
    const infos: ThrottledInfo[] = [];
    const events: ThrottleDecisionEvent[] = [];
    await start({
      events: { decision: (event) => events.push(event) },
      throttledException: (info) => {
        infos.push(info);
        return peerBody();
      },
    });
    await get('/te/two');
    await get('/te/two');
    clock.advance(0.5);
    const refused = await get('/te/two', { 'x-closed': '1' });
    expect(refused.status).toBe(429);
    expect(infos).toHaveLength(1);
    const { context, ...info } = infos[0];
    expect(context.getType()).toBe('http');
    expect(context.getHandler().name).toBe('two');
    expect(info).toEqual({
      route: 'RefusedController.two',
      wait: 60,
      throttles: [
        {
          throttle: 'AnonRateThrottle',
          scope: 'anon',
          keyHash: events.at(-2)?.keyHash,
          hits: 2,
          limit: 2,
          duration: 60,
          wait: 59.5,
        },
        {
          throttle: 'ClosedThrottle',
          scope: undefined,
          keyHash: null,
          hits: null,
          limit: null,
          duration: null,
          wait: 30,
        },
      ],
    });
    expect(info.throttles[0].keyHash).toMatch(/^[\w-]{22}$/);
    expect(JSON.stringify(info)).not.toContain('127.0.0.1');
    expect(refused.headers.get('retry-after')).toBe('60');
  });

  it('rate-limit headers are still sent on the app own 429', async () => {
    await start({ throttledException: peerBody, headers: 'legacy' });
    await get('/te/one');
    await get('/te/one');
    const refused = await get('/te/one');
    expect(refused.body).toEqual({ statusCode: 429, message: 'ThrottlerException: Too Many Requests' });
    expect([refused.headers.get('x-ratelimit-remaining'), refused.headers.get('retry-after')]).toEqual(['0', '60']);
  });

  it("what the factory throws is that request's error; an allowed request never calls it", async () => {
    let calls = 0;
    await start({
      throttledException: () => {
        calls++;
        throw new HttpException('factory failed', HttpStatus.SERVICE_UNAVAILABLE);
      },
    });
    expect([(await get('/te/one')).status, (await get('/te/one')).status, (await get('/te/one')).status]).toEqual([
      200, 200, 503,
    ]);
    expect(calls).toBe(1);
  });
});

describe.each(PLATFORMS)('throttledException outside HTTP on %s', (platform: Platform) => {
  const words = ({ wait }: ThrottledInfo) => new ThrottledException(wait, 'Slow down.');

  it('GraphQL: the text of the HttpException is the error message; code and wait as before', async () => {
    const t = await startApp(platform, graphqlApp(platform, { throttledException: peerBody }));
    try {
      for (let i = 0; i < 3; i++) await gql(t.url, '{ article { id } }');
      const refused = await gql(t.url, '{ article { id } }');
      expect(refused.errors.map((e) => [e.message, e.extensions?.code, e.extensions?.retryAfter])).toEqual([
        ['ThrottlerException: Too Many Requests', 'THROTTLED', 60],
      ]);
      expect(refused.retryAfter).toBe('60');
    } finally {
      await t.close();
    }
  });

  it.each(WS_TRANSPORTS)('WebSockets (%s): the exception event carries the detail', async (transport) => {
    const t = await startGatewayApp(platform, transport, { throttledException: words });
    try {
      const client = await connect(transport, t.url);
      await client.send('chat', 'a');
      await client.send('chat', 'b');
      expect(await client.send('chat', 'c')).toEqual({
        event: 'exception',
        data: {
          status: 'error',
          message: 'Slow down. Expected available in 60 seconds.',
          code: 'THROTTLED',
          retryAfter: 60,
          cause: { pattern: 'chat', data: 'c' },
        },
      });
      client.close();
    } finally {
      await t.close();
    }
  });
});

it('microservices: the RPC error carries the detail', async () => {
  const m = await startMicroservice('tcp', { throttledException: peerBody });
  try {
    const client = await m.client();
    await m.send(client, 'sum', [1]);
    await m.send(client, 'sum', [1]);
    const refused = await m.send(client, 'sum', [1]).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toEqual({
      status: 'error',
      message: 'ThrottlerException: Too Many Requests',
      code: 'THROTTLED',
      retryAfter: 60,
    });
  } finally {
    await m.close();
  }
});

it('a throttledException that is not a function stops the app at startup', () => {
  expect(() => RestflowThrottleModule.forRoot({ throttledException: 'Too many' as never })).toThrow(
    expect.objectContaining({
      constructor: ImproperlyConfiguredError,
      code: 'RFT_INVALID_OPTION',
      message:
        'RestflowThrottleModule: throttledException must be a function of the refusal returning the error to answer with.',
    }),
  );
});
