/**
 * The sample's socket.io gateway `/chat` (sample/gateway), run as
 * `npm start` runs it, on Express and Fastify: messages at the sample's
 * rates (anon 3/min, user 10/min), `ping` never throttled, and 5 new
 * connections a minute per address.
 */
import { PLATFORMS } from '../helpers/http-app';
import { useSample } from '../helpers/sample-app';
import { connect, type GatewayClient } from '../helpers/contexts/ws-clients';

/** The sample sends IETF rate-limit headers (`headers: 'ietf'`); a WebSocket has none, so they ride in the payload. */
const throttled = (seconds: number, pattern: string, data: unknown, headers: Record<string, string>) => ({
  event: 'exception',
  data: {
    status: 'error',
    message: `Request was throttled. Expected available in ${seconds} seconds.`,
    code: 'THROTTLED',
    retryAfter: seconds,
    cause: { pattern, data },
    headers,
  },
});
const anonLimited = { RateLimit: '"anon";r=0;t=60', 'RateLimit-Policy': '"anon";q=3;w=60, "user";q=10;w=60' };
const welcome = { event: 'welcome', data: 'Say something: emit "say" with a text.' };

describe.each(PLATFORMS)('the sample chat gateway on %s', (platform) => {
  const t = useSample(platform);
  const clients: GatewayClient[] = [];
  /** A connection to /chat, its welcome message taken. */
  const join = async (headers?: Record<string, string>) => {
    const client = await connect('socket.io', t.url, headers, '/chat');
    clients.push(client);
    expect(await client.next()).toEqual(welcome);
    return client;
  };
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  it('anonymous clients may say 3 things a minute; the 4th gets the exception event', async () => {
    const client = await join();
    for (const text of ['a', 'b', 'c']) expect(await client.send('say', text)).toEqual({ event: 'said', data: text });
    expect(await client.send('say', 'd')).toEqual(throttled(60, 'say', 'd', anonLimited));
    expect(await client.send('ping')).toEqual({ event: 'pong', data: 'pong' });
    t.clock.advance(60);
    expect(await client.send('say', 'e')).toEqual({ event: 'said', data: 'e' });
  });

  it('a signed-in user gets the user rate', async () => {
    const client = await join({ authorization: 'Token alice-token' });
    for (let i = 0; i < 10; i++) expect(await client.send('say', `${i}`)).toEqual({ event: 'said', data: `${i}` });
    expect(await client.send('say', 'x')).toEqual(
      throttled(60, 'say', 'x', { RateLimit: '"user";r=0;t=60', 'RateLimit-Policy': '"user";q=10;w=60' }),
    );
  });

  it('a 6th connection in a minute from one address is refused and disconnected', async () => {
    for (let i = 0; i < 5; i++) await join();
    const refused = await connect('socket.io', t.url, {}, '/chat');
    clients.push(refused);
    expect(await refused.next()).toEqual(
      throttled(60, 'connection', undefined, {
        RateLimit: '"connections";r=0;t=60',
        'RateLimit-Policy': '"connections";q=5;w=60',
      }),
    );
    expect(await refused.closed).toBe('io server disconnect');
  });
});
