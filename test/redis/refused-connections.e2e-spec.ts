/**
 * Issue 24, item 2, on the Redis store (an ioredis client as `cache`, a
 * redis-server of the test's own): a connection refused by
 * `throttleConnection()` through a real rate throttle (AnonRateThrottle,
 * 1/min) is over, on `ws` (Nest's WsAdapter) and socket.io. The attacks, on
 * the second connection of the minute, by a client that never answers the
 * close frame: flooding for 1.5 s once refused, and flooding from its first
 * moment, while the store's answer is on its way. No message is handled, and
 * the server drops the TCP connection. The handler that counts is not
 * throttled, so only the connection's refusal can keep the messages from it.
 */
import { AnonRateThrottle } from 'restflow-throttle';
import type { TestApp } from '../helpers/http-app';
import { WS_TRANSPORTS } from '../helpers/contexts/gateway-app';
import {
  floodGateway,
  ioEvent,
  nothingSeen,
  openClient,
  settle,
  SOCKET_IO_PATH,
  startFloodApp,
  wsEvent,
  type Seen,
} from '../helpers/contexts/flood-gateway';
import { rawConnect } from '../helpers/contexts/raw-ws-client';
import { redisForSuite } from '../helpers/redis-server';

const redis = redisForSuite();

describe.each(WS_TRANSPORTS)('a connection refused by a rate on Redis is over (%s)', (transport) => {
  let t: TestApp | undefined;
  let seen: Seen;
  const closers: Array<() => void> = [];
  const frame = (i: number) => (transport === 'ws' ? wsEvent('flood', i) : ioEvent('flood', i));

  /** Starts the app and spends the minute's one connection on a client whose message is handled. */
  beforeEach(async () => {
    await redis.server.command('FLUSHALL');
    seen = nothingSeen();
    t = await startFloodApp(transport, floodGateway(AnonRateThrottle, seen), {
      rates: { anon: '1/min' },
      cache: redis.client,
    });
    const first = await openClient(transport, t.url);
    closers.push(() => first.close());
    await settle(() => seen.decisions.length > 0);
    first.emit('flood', 'allowed');
    await settle(() => seen.handled > 0);
    expect([seen.decisions, seen.handled]).toEqual([[true], 1]);
    // The decision is the store's: the one key the rate counts in is on the server.
    expect(await redis.server.command('KEYS', '*')).toEqual([expect.stringMatching(/^throttle_anon_.*127\.0\.0\.1$/)]);
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) close();
    await t?.close();
    t = undefined;
  });

  it('the 2nd connection, refused, never answers the close frame and floods for 1.5 s: none handled', async () => {
    const raw = await rawConnect(t!.url, transport === 'ws' ? '/' : SOCKET_IO_PATH);
    closers.push(() => raw.destroy());
    if (transport === 'socket.io') raw.send('40');
    await settle(() => seen.decisions.length > 1);
    expect(seen.decisions).toEqual([true, false]);
    // The client writes until the server drops it, which may be before its first frame.
    await raw.flood(frame, 1500);
    expect([seen.handled, seen.beforeDecision]).toEqual([1, 0]);
    expect(raw.isEnded).toBe(true);
    expect(raw.received.some((text) => text.includes('THROTTLED'))).toBe(true);
  });

  it('the 2nd connection floods from its first moment, while Redis decides: none handled', async () => {
    const raw = await rawConnect(t!.url, transport === 'ws' ? '/' : SOCKET_IO_PATH);
    closers.push(() => raw.destroy());
    if (transport === 'socket.io') raw.send('40');
    const written = await raw.flood(frame, 1500);
    expect(seen.decisions).toEqual([true, false]);
    expect(written).toBeGreaterThan(0);
    expect([seen.handled, seen.beforeDecision]).toEqual([1, 0]);
    expect(raw.isEnded).toBe(true);
  });
});
