/**
 * GraphQL subscriptions over WebSocket (issue 24 item 5): a subscribe is
 * throttled on the connection's client address, read from the upgrade
 * request (its X-Forwarded-For with `numProxies`), and a refused one is the
 * throttled GraphQL error, with no error logged. Apollo (`graphql-ws`, on
 * Express) and Mercurius (on Fastify), with the `graphql-ws` client over
 * real sockets.
 */
import { jest } from '@jest/globals';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Injectable, type CanActivate, type ExecutionContext, type ModuleMetadata } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { GraphQLModule, Query, Resolver, Subscription } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import {
  AnonRateThrottle,
  ManualClock,
  MemoryThrottleStore,
  RestflowThrottleModule,
  Throttle,
  UserRateThrottle,
  type RestflowThrottleOptions,
} from 'restflow-throttle';
import { CapturingLogger, startApp, type Platform, type TestApp } from '../../helpers/http-app';

/** A result as the client hands it over. */
type ExecutionResult = FormattedExecutionResult<Record<string, unknown>, unknown>;

@Resolver()
class TicksResolver {
  @Query(() => String)
  health(): string {
    return 'ok';
  }

  @Subscription(() => String, { resolve: (tick: string) => tick })
  @Throttle([AnonRateThrottle])
  async *ticks(): AsyncGenerator<string> {
    yield 'tick';
  }

  @Subscription(() => String, { resolve: (tick: string) => tick })
  @Throttle([UserRateThrottle])
  async *alerts(): AsyncGenerator<string> {
    yield 'alert';
  }
}

/**
 * Signs a subscription in from its `connection_init` payload (`{ token }`), as
 * an app's auth guard would: over graphql-ws the context's `req` is
 * graphql-ws' context, which holds the payload as `connectionParams`.
 */
@Injectable()
class ConnectionTokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.getType<string>() !== 'graphql') return true;
    const req = context.getArgByIndex<{ req?: { connectionParams?: { token?: unknown }; user?: unknown } }>(2)?.req;
    const token = req?.connectionParams?.token;
    if (req !== undefined && typeof token === 'string') req.user = { id: token };
    return true;
  }
}

type Driver = 'apollo' | 'mercurius';
/** Apollo on Express (on Fastify it needs `@as-integrations/fastify`), Mercurius on Fastify. */
const SETUPS: [Driver, Platform][] = [
  ['apollo', 'express'],
  ['mercurius', 'fastify'],
];

/** The memory store, remembering every key it was asked about. */
function recordingStore(): MemoryThrottleStore & { keys: Set<string> } {
  const store = new MemoryThrottleStore();
  const keys = new Set<string>();
  const hit = store.hit.bind(store);
  jest.spyOn(store, 'hit').mockImplementation((key, ...rest) => (keys.add(key), hit(key, ...rest)));
  return Object.assign(store, { keys });
}

function subscriptionsApp(driver: Driver, store: MemoryThrottleStore, more: RestflowThrottleOptions): ModuleMetadata {
  const schema = { autoSchemaFile: true };
  const subscriptions = { 'graphql-ws': {} };
  const graphql =
    driver === 'apollo'
      ? GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, ...schema, subscriptions })
      : GraphQLModule.forRoot<MercuriusDriverConfig>({ driver: MercuriusDriver, ...schema, subscription: true });
  const rates = { anon: '2/min', user: '2/min' };
  return {
    imports: [graphql, RestflowThrottleModule.forRoot({ rates, cache: store, ...more })],
    providers: [TicksResolver, { provide: APP_GUARD, useClass: ConnectionTokenGuard }],
  };
}

/** A graphql-ws client whose upgrade request carries `headers`, and `token` in its `connection_init`. */
function subscriber(url: string, headers: Record<string, string> = {}, token?: string): Client {
  class HeaderSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  return createClient({
    url: `${url.replace('http', 'ws')}/graphql`,
    webSocketImpl: HeaderSocket,
    connectionParams: token === undefined ? undefined : { token },
    retryAttempts: 0,
  });
}

/**
 * Subscribes once and collects what the server sends until it ends the
 * subscription. A refused subscribe comes as a `next` with `errors` then
 * `complete` (Apollo's graphql-ws server) or as an `error` message with the
 * errors (Mercurius): both are collected as one result with `errors`.
 */
function subscribe(client: Client, field: 'ticks' | 'alerts' = 'ticks'): Promise<ExecutionResult[]> {
  return new Promise((resolve, reject) => {
    const results: ExecutionResult[] = [];
    client.subscribe(
      { query: `subscription { ${field} }` },
      {
        next: (result) => void results.push(result),
        error: (error) => (Array.isArray(error) ? resolve([...results, { errors: error }]) : reject(error)),
        complete: () => resolve(results),
      },
    );
  });
}

const detail = 'Request was throttled. Expected available in 60 seconds.';
const throttled = [{ message: detail, code: 'THROTTLED', retryAfter: 60 }];
const errorsOf = (results: ExecutionResult[]) =>
  results
    .flatMap((r) => r.errors ?? [])
    .map((e) => ({ message: e.message, code: e.extensions?.code, retryAfter: e.extensions?.retryAfter }));

describe.each(SETUPS)('GraphQL subscriptions, %s on %s', (driver, platform) => {
  let t: TestApp;
  let clients: Client[];
  let store: ReturnType<typeof recordingStore>;
  let logger: CapturingLogger;
  const clock = new ManualClock(1_000_000);

  async function start(options: RestflowThrottleOptions): Promise<void> {
    store = recordingStore();
    logger = new CapturingLogger();
    t = await startApp(platform, subscriptionsApp(driver, store, { clock: clock.read, ...options }), logger);
  }
  const client = (headers?: Record<string, string>, token?: string): Client => {
    const created = subscriber(t.url, headers, token);
    clients.push(created);
    return created;
  };

  beforeEach(() => {
    clients = [];
  });
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await t.close();
  });

  it("numProxies 1: the upgrade request's X-Forwarded-For is the client; its third subscribe is refused", async () => {
    await start({ numProxies: 1 });
    const first = client({ 'x-forwarded-for': '198.51.100.1, 203.0.113.7' });
    expect(await subscribe(first)).toEqual([{ data: { ticks: 'tick' } }]);
    expect(await subscribe(first)).toEqual([{ data: { ticks: 'tick' } }]);
    const refused = await subscribe(first);
    expect(errorsOf(refused)).toEqual(throttled);
    // Another connection from the same client (as its proxy says) shares the bucket; another client does not.
    expect(errorsOf(await subscribe(client({ 'x-forwarded-for': '203.0.113.7' })))).toEqual(throttled);
    expect(await subscribe(client({ 'x-forwarded-for': '203.0.113.8' }))).toEqual([{ data: { ticks: 'tick' } }]);
    expect(store.keys).toEqual(new Set(['throttle_anon_ip:203.0.113.7', 'throttle_anon_ip:203.0.113.8']));
    expect(logger.errors).toEqual([]);
  });

  it("numProxies unset: keyed on the connection's peer address, whatever the client writes", async () => {
    await start({});
    expect(await subscribe(client({ 'x-forwarded-for': '203.0.113.1' }))).toEqual([{ data: { ticks: 'tick' } }]);
    expect(await subscribe(client({ 'x-forwarded-for': '203.0.113.2' }))).toEqual([{ data: { ticks: 'tick' } }]);
    expect(errorsOf(await subscribe(client({ 'x-forwarded-for': '203.0.113.3' })))).toEqual(throttled);
    expect(store.keys).toEqual(new Set(['throttle_anon_ip:127.0.0.1']));
    expect(logger.errors).toEqual([]);
  });

  if (driver === 'apollo') {
    it('a user an auth guard set on the graphql-ws context is keyed by id', async () => {
      await start({ numProxies: 1 });
      const alice = client({ 'x-forwarded-for': '203.0.113.7' }, 'alice');
      expect(await subscribe(alice, 'alerts')).toEqual([{ data: { alerts: 'alert' } }]);
      expect(await subscribe(alice, 'alerts')).toEqual([{ data: { alerts: 'alert' } }]);
      expect(errorsOf(await subscribe(alice, 'alerts'))).toEqual(throttled);
      const bob = client({ 'x-forwarded-for': '203.0.113.7' }, 'bob');
      expect(await subscribe(bob, 'alerts')).toEqual([{ data: { alerts: 'alert' } }]);
      expect(store.keys).toEqual(new Set(['throttle_user_user:alice', 'throttle_user_user:bob']));
      expect(logger.errors).toEqual([]);
    });
  }
});
