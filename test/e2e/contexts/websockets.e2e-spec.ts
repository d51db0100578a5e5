/**
 * WebSockets (issue 11, item 3): the decorators on gateways and message
 * handlers, identity = the connection's address (numProxies applied to the
 * handshake's X-Forwarded-For), a throttled message answered with Nest's
 * `exception` event carrying DRF's detail and the wait, and connections
 * throttled at handshake. socket.io and ws, on Express and Fastify, with
 * real clients.
 */
import { jest } from '@jest/globals';
import { SimpleRateThrottle } from 'restflow-throttle';
import { CapturingLogger, FakeClock, PLATFORMS, type TestApp } from '../../helpers/http-app';
import { startGatewayApp, undeclaredConnectionsGateway, WS_TRANSPORTS } from '../../helpers/contexts/gateway-app';
import { connect, type GatewayClient } from '../../helpers/contexts/ws-clients';

const detail = (seconds: number) =>
  `Request was throttled. Expected available in ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`;
const throttled = (seconds: number, pattern: string, data: unknown) => ({
  event: 'exception',
  data: { status: 'error', message: detail(seconds), code: 'THROTTLED', retryAfter: seconds, cause: { pattern, data } },
});

describe.each(PLATFORMS.flatMap((platform) => WS_TRANSPORTS.map((transport) => [platform, transport] as const)))(
  'WebSockets on %s with %s',
  (platform, transport) => {
    const clock = new FakeClock();
    let t: TestApp;
    const clients: GatewayClient[] = [];
    const open = async (headers?: Record<string, string>) => {
      const client = await connect(transport, t.url, headers);
      clients.push(client);
      return client;
    };
    beforeAll(() => {
      jest.spyOn(SimpleRateThrottle.prototype, 'timer').mockImplementation(() => clock.now);
    });
    afterAll(() => jest.restoreAllMocks());
    afterEach(async () => {
      for (const client of clients.splice(0)) client.close();
      await t.close();
    });

    it('throttles a message by the gateway decorator with the exception event, then lets it through once the wait is over', async () => {
      const logger = new CapturingLogger();
      t = await startGatewayApp(platform, transport, {}, logger);
      const client = await open();
      expect(await client.send('chat', 'a')).toEqual({ event: 'chat', data: 'echo a' });
      expect(await client.send('chat', 'b')).toEqual({ event: 'chat', data: 'echo b' });
      expect(await client.send('chat', 'c')).toEqual(throttled(60, 'chat', 'c'));
      clock.advance(30);
      expect(await client.send('chat', 'd')).toEqual(throttled(30, 'chat', 'd'));
      clock.advance(31);
      expect(await client.send('chat', 'e')).toEqual({ event: 'chat', data: 'echo e' });
      expect(logger.errors).toEqual([]);
    });

    it('@SkipThrottle on a handler opts it out of the gateway throttles', async () => {
      t = await startGatewayApp(platform, transport);
      const client = await open();
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await client.send('ping'));
      expect(answers).toEqual(Array(5).fill({ event: 'pong', data: 'pong' }));
    });

    it('identity is the address, not the connection: two connections from one client share a bucket', async () => {
      t = await startGatewayApp(platform, transport);
      const first = await open();
      const second = await open();
      expect(await first.send('chat', 'a')).toEqual({ event: 'chat', data: 'echo a' });
      expect(await second.send('chat', 'b')).toEqual({ event: 'chat', data: 'echo b' });
      expect(await first.send('chat', 'c')).toEqual(throttled(60, 'chat', 'c'));
    });

    it('numProxies applies to the handshake X-Forwarded-For', async () => {
      t = await startGatewayApp(platform, transport, { numProxies: 1 });
      const alice = await open({ 'x-forwarded-for': '203.0.113.7' });
      const bob = await open({ 'x-forwarded-for': '198.51.100.2' });
      await alice.send('chat', 'a');
      await alice.send('chat', 'b');
      expect(await alice.send('chat', 'c')).toEqual(throttled(60, 'chat', 'c'));
      expect(await bob.send('chat', 'd')).toEqual({ event: 'chat', data: 'echo d' });
    });

    it('a handler @Throttle([UserRateThrottle]) keys on the user an auth guard set on the client', async () => {
      t = await startGatewayApp(platform, transport);
      const alice = await open({ authorization: 'Token alice' });
      const bob = await open({ authorization: 'Token bob' });
      expect(await alice.send('typing')).toEqual({ event: 'typing', data: 'ok' });
      expect(await alice.send('typing')).toEqual({ event: 'typing', data: 'ok' });
      expect(await alice.send('typing', 'x')).toEqual(throttled(60, 'typing', 'x'));
      expect(await bob.send('typing')).toEqual({ event: 'typing', data: 'ok' });
    });

    it('throttles connections at handshake with the throttles of handleConnection: a refused client gets the exception event and is disconnected', async () => {
      t = await startGatewayApp(platform, transport);
      const allowed = [await open(), await open(), await open()];
      const refused = await open();
      expect(await refused.next()).toEqual(throttled(60, 'connection', undefined));
      expect(await refused.closed).toBe(transport === 'ws' ? 1013 : 'io server disconnect');
      expect(await allowed[2].send('ping')).toEqual({ event: 'pong', data: 'pong' });
    });

    it('throttleConnection() on a handleConnection without @Throttle allows the connection and logs why, once', async () => {
      const logger = new CapturingLogger();
      t = await startGatewayApp(platform, transport, {}, logger, undeclaredConnectionsGateway());
      const clients = [await open(), await open(), await open(), await open()];
      expect(await clients[3].send('ping')).toEqual({ event: 'pong', data: 'pong' });
      expect(logger.errors).toEqual([
        'throttleConnection(): UndeclaredConnectionsGateway.handleConnection has no throttles: decorate it with @Throttle([...]) ' +
          '(and import RestflowThrottleModule). The connection is allowed.',
      ]);
    });

    it("with onCacheError: 'deny' and the cache down, a connection is refused with the 503's detail, and no error is logged", async () => {
      const down = {
        get: () => Promise.reject(new Error('cache down')),
        set: () => Promise.reject(new Error('cache down')),
      };
      const logger = new CapturingLogger();
      t = await startGatewayApp(platform, transport, { cache: down, onCacheError: 'deny' }, logger);
      const refused = await open();
      expect(await refused.next()).toEqual({
        event: 'exception',
        data: {
          status: 'error',
          message: 'Rate limiting is temporarily unavailable. Try again later.',
          code: 'SERVICE_UNAVAILABLE',
          statusCode: 503,
          cause: { pattern: 'connection' },
        },
      });
      expect(await refused.closed).toBe(transport === 'ws' ? 1013 : 'io server disconnect');
      expect(logger.errors).toEqual([]);
    });
  },
);
