/**
 * Issue 24, item 2: a connection refused by `throttleConnection()` is over,
 * on `ws` (Nest's WsAdapter) and socket.io. The attacks:
 * - a client that never answers the close frame and floods messages for 1.5 s
 *   after the refusal: no message is handled, and the server drops the TCP
 *   connection instead of waiting for the client;
 * - the same client flooding from its first moment while the connection's
 *   throttle takes 200 ms to refuse: no message is handled;
 * - a client that sends 100 messages right after connecting while the
 *   connection's throttle takes 200 ms to refuse (a gateway built once, or
 *   per connection): no message is handled; when it allows instead, the 100
 *   are handled after the decision, none before (socket.io holds at most
 *   1 000 such events).
 * - the same flood after a real rate throttle (AnonRateThrottle, 1/min, on
 *   the default memory store) refused the second connection of the minute
 *   (on Redis: test/redis/refused-connections.e2e-spec.ts).
 * The handler that counts is not throttled, so only the connection's refusal
 * can keep the messages from it.
 */
import { Injectable, Scope } from '@nestjs/common';
import { AnonRateThrottle, BaseThrottle } from 'restflow-throttle';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { TestApp } from '../../helpers/http-app';
import { WS_TRANSPORTS } from '../../helpers/contexts/gateway-app';
import {
  floodGateway,
  ioEvent,
  nothingSeen,
  openClient,
  settle,
  SOCKET_IO_PATH,
  startFloodApp,
  wsEvent,
} from '../../helpers/contexts/flood-gateway';
import { rawConnect } from '../../helpers/contexts/raw-ws-client';

/** Refuses every connection at once. */
@Injectable()
class RefuseAll extends BaseThrottle {
  allowRequest(): boolean {
    return false;
  }
}

/** Answers after 200 ms, as a slow store would; `SlowThrottle.allow` says what. */
@Injectable()
class SlowThrottle extends BaseThrottle {
  static allow = false;
  allowRequest(): Promise<boolean> {
    return new Promise((resolve) => setTimeout(() => resolve(SlowThrottle.allow), 200));
  }
}

/** Decides when the test says so (`HeldThrottle.decide`). */
@Injectable()
class HeldThrottle extends BaseThrottle {
  static decide: (allow: boolean) => void = () => undefined;
  allowRequest(): Promise<boolean> {
    return new Promise((resolve) => (HeldThrottle.decide = resolve));
  }
}

describe.each(WS_TRANSPORTS)('a refused connection is over (%s)', (transport) => {
  let t: TestApp | undefined;
  const closers: Array<() => void> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) close();
    await t?.close();
    t = undefined;
  });

  it('a client that never answers the close frame and floods for 1.5 s: none handled, and dropped', async () => {
    const seen = nothingSeen();
    t = await startFloodApp(transport, floodGateway(RefuseAll, seen));
    const raw = await rawConnect(t.url, transport === 'ws' ? '/' : SOCKET_IO_PATH);
    closers.push(() => raw.destroy());
    if (transport === 'socket.io') raw.send('40');
    await settle(() => seen.decisions.length > 0);
    expect(seen.decisions).toEqual([false]);
    // What the client managed to write before the server dropped it (socket.io may drop it before the first frame).
    const written = await raw.flood((i) => (transport === 'ws' ? wsEvent('flood', i) : ioEvent('flood', i)), 1500);
    expect(written).toBeGreaterThanOrEqual(transport === 'ws' ? 1 : 0);
    expect(seen.handled).toBe(0);
    // The server dropped the connection itself before the 1.5 s were over (a graceful close waits 30 s for the client).
    expect(raw.isEnded).toBe(true);
    expect(raw.received.some((text) => text.includes('THROTTLED'))).toBe(true);
  });

  it('AnonRateThrottle (1/min) on the memory store refuses the 2nd connection, which floods: none handled', async () => {
    const seen = nothingSeen();
    t = await startFloodApp(transport, floodGateway(AnonRateThrottle, seen), { rates: { anon: '1/min' } });
    // The first connection of the minute is allowed, and its messages are handled.
    const first = await openClient(transport, t.url);
    closers.push(() => first.close());
    await settle(() => seen.decisions.length > 0);
    first.emit('flood', 'allowed');
    await settle(() => seen.handled > 0);
    expect([seen.decisions, seen.handled]).toEqual([[true], 1]);
    // The second is refused by the rate, never answers the close frame, and floods for 1.5 s after the refusal.
    const raw = await rawConnect(t.url, transport === 'ws' ? '/' : SOCKET_IO_PATH);
    closers.push(() => raw.destroy());
    if (transport === 'socket.io') raw.send('40');
    await settle(() => seen.decisions.length > 1);
    expect(seen.decisions).toEqual([true, false]);
    // The client writes until the server drops it, which may be before its first frame.
    await raw.flood((i) => (transport === 'ws' ? wsEvent('flood', i) : ioEvent('flood', i)), 1500);
    expect([seen.handled, seen.beforeDecision]).toEqual([1, 0]);
    expect(raw.isEnded).toBe(true);
    expect(raw.received.some((text) => text.includes('THROTTLED'))).toBe(true);
  });

  it('a client flooding from its first moment, the throttle refusing after 200 ms: none handled', async () => {
    SlowThrottle.allow = false;
    const seen = nothingSeen();
    t = await startFloodApp(transport, floodGateway(SlowThrottle, seen));
    const raw = await rawConnect(t.url, transport === 'ws' ? '/' : SOCKET_IO_PATH);
    closers.push(() => raw.destroy());
    if (transport === 'socket.io') raw.send('40');
    const written = await raw.flood((i) => (transport === 'ws' ? wsEvent('flood', i) : ioEvent('flood', i)), 1500);
    expect(seen.decisions).toEqual([false]);
    expect(written).toBeGreaterThan(0);
    expect(seen.handled).toBe(0);
    expect(raw.isEnded).toBe(true);
  });

  it.each([
    ['a gateway', false, 0, Scope.DEFAULT],
    ['a gateway', true, 100, Scope.DEFAULT],
    ['a request-scoped gateway', false, 0, Scope.REQUEST],
  ])('%s: 100 messages at once, throttle saying %s after 200 ms: none handled early', async (_, allow, n, scope) => {
    SlowThrottle.allow = allow;
    const seen = nothingSeen();
    t = await startFloodApp(transport, floodGateway(SlowThrottle, seen, scope));
    if (transport === 'ws') {
      const client = new WebSocket(t.url.replace('http', 'ws'));
      closers.push(() => client.terminate());
      client.on('error', () => undefined);
      await new Promise((resolve) => client.once('open', resolve));
      for (let i = 0; i < 100; i++) client.send(wsEvent('flood', i));
    } else {
      const client: Socket = io(t.url, { transports: ['websocket'], reconnection: false, forceNew: true });
      closers.push(() => client.disconnect());
      await new Promise<void>((resolve) => client.once('connect', () => resolve()));
      for (let i = 0; i < 100; i++) client.emit('flood', i);
    }
    await settle(() => seen.decisions.length > 0);
    await settle(() => seen.handled >= n, 1000);
    // Whatever was held has had time to be (wrongly) handled once the refusal went out.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen.decisions).toEqual([allow]);
    expect(seen.beforeDecision).toBe(0);
    expect(seen.handled).toBe(n);
  });
});

it('socket.io holds at most 1 000 events of an undecided connection: the rest are dropped', async () => {
  const seen = nothingSeen();
  const t = await startFloodApp('socket.io', floodGateway(HeldThrottle, seen));
  const client: Socket = io(t.url, { transports: ['websocket'], reconnection: false, forceNew: true });
  try {
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    for (let i = 0; i < 1500; i++) client.emit('flood', i);
    await settle(() => seen.received === 1500);
    expect(seen.handled).toBe(0);
    HeldThrottle.decide(true);
    await settle(() => seen.handled >= 1000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toEqual({ received: 1500, handled: 1000, beforeDecision: 0, decisions: [true] });
    // Once allowed, nothing is held any more.
    client.emit('flood', 'after');
    await settle(() => seen.handled > 1000);
    expect(seen.handled).toBe(1001);
  } finally {
    client.disconnect();
    await t.close();
  }
});
