/**
 * `onCacheError: 'deny'` with the cache down, outside HTTP: the refusal (a
 * 503 over HTTP) reaches GraphQL, WebSocket and microservice clients in
 * their transport's form with its detail, and Nest logs no error for it.
 */
import { CapturingLogger, PLATFORMS, startApp } from '../../helpers/http-app';
import { MessagesGateway, startGatewayApp, WS_TRANSPORTS } from '../../helpers/contexts/gateway-app';
import { gql, graphqlApp } from '../../helpers/contexts/graphql-app';
import { startMicroservice } from '../../helpers/contexts/microservice-app';
import { connect } from '../../helpers/contexts/ws-clients';

const down = { get: () => Promise.reject(new Error('cache down')), set: () => Promise.reject(new Error('cache down')) };
const options = { cache: down, onCacheError: 'deny' as const };
const unavailable = {
  status: 'error',
  message: 'Rate limiting is temporarily unavailable. Try again later.',
  code: 'SERVICE_UNAVAILABLE',
  statusCode: 503,
};

describe.each(PLATFORMS)('the cache down, deny, on %s', (platform) => {
  it('GraphQL: a SERVICE_UNAVAILABLE error with the detail', async () => {
    const logger = new CapturingLogger();
    const t = await startApp(platform, graphqlApp(platform, options), logger);
    try {
      const response = await gql(t.url, '{ article { id } }');
      expect(response.errors.map((e) => [e.message, e.path, e.extensions?.code, e.extensions?.statusCode])).toEqual([
        [unavailable.message, ['article'], 'SERVICE_UNAVAILABLE', 503],
      ]);
      expect(logger.errors).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it.each(WS_TRANSPORTS)('WebSockets (%s): the exception event with the detail', async (transport) => {
    const logger = new CapturingLogger();
    // Refused connections are tested in websockets.e2e-spec.ts; here, a message.
    const t = await startGatewayApp(platform, transport, options, logger, MessagesGateway);
    const client = await connect(transport, t.url);
    try {
      expect(await client.send('chat', 'x')).toEqual({
        event: 'exception',
        data: { ...unavailable, cause: { pattern: 'chat', data: 'x' } },
      });
      expect(logger.errors).toEqual([]);
    } finally {
      client.close();
      await t.close();
    }
  });
});

it('microservices: the RPC error with the detail', async () => {
  const logger = new CapturingLogger();
  const m = await startMicroservice('tcp', options, undefined, logger);
  try {
    const client = await m.client();
    expect(
      await m.send(client, 'sum', [1]).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
    ).toEqual({ error: unavailable });
    expect(logger.errors).toEqual([]);
  } finally {
    await m.close();
  }
});
