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
 * The handler that counts is not throttled, so only the connection's refusal
 * can keep the messages from it.
 */
import { Injectable, Scope, type INestApplication } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import { SubscribeMessage, WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import { BaseThrottle, RestflowThrottleModule, Throttle, throttleConnection } from 'restflow-throttle';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { serve, type TestApp } from '../../helpers/http-app';
import { WS_TRANSPORTS, type WsTransport } from '../../helpers/contexts/gateway-app';
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

/** What the gateway saw: events received (socket.io), messages handled, and how many before the decision. */
interface Seen {
  received: number;
  handled: number;
  beforeDecision: number;
  decisions: boolean[];
}

type ConnectionThrottle = typeof RefuseAll | typeof SlowThrottle | typeof HeldThrottle;

function floodGateway(throttle: ConnectionThrottle, seen: Seen, scope = Scope.DEFAULT) {
  @WebSocketGateway()
  @Injectable({ scope })
  class FloodGateway implements OnGatewayConnection {
    private readonly decided = new WeakSet<object>();

    /** Not throttled: only the connection's refusal can keep a message from it. */
    @SubscribeMessage('flood')
    flood(client: object): void {
      seen.handled++;
      if (!this.decided.has(client)) seen.beforeDecision++;
    }

    @Throttle([throttle])
    async handleConnection(client: object, request?: IncomingMessage): Promise<void> {
      const decision = throttleConnection(this, client, request);
      // socket.io calls "any" listeners for each event as it arrives, before its middlewares.
      (client as { onAny?(listener: () => void): void }).onAny?.(() => seen.received++);
      const allowed = await decision;
      this.decided.add(client);
      seen.decisions.push(allowed);
    }
  }
  return FloodGateway;
}

async function start(transport: WsTransport, gateway: Function): Promise<TestApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [RestflowThrottleModule.forRoot({})],
    providers: [gateway as new () => object],
  }).compile();
  const app: INestApplication = moduleRef.createNestApplication({ logger: false });
  app.useWebSocketAdapter(transport === 'ws' ? new WsAdapter(app) : new IoAdapter(app));
  return serve(app);
}

/** socket.io's wire format over engine.io 4: the namespace connect, and an event. */
const SOCKET_IO_PATH = '/socket.io/?EIO=4&transport=websocket';
const ioEvent = (event: string, data: unknown) => `42${JSON.stringify([event, data])}`;
const wsEvent = (event: string, data: unknown) => JSON.stringify({ event, data });

/** Waits until `check()` holds, polling each 10 ms, for at most `ms`. */
async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
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
    const seen: Seen = { received: 0, handled: 0, beforeDecision: 0, decisions: [] };
    t = await start(transport, floodGateway(RefuseAll, seen));
    const raw = await rawConnect(t.url, transport === 'ws' ? '/' : SOCKET_IO_PATH);
    closers.push(() => raw.destroy());
    if (transport === 'socket.io') raw.send('40');
    await until(() => seen.decisions.length > 0);
    expect(seen.decisions).toEqual([false]);
    // What the client managed to write before the server dropped it (socket.io may drop it before the first frame).
    const written = await raw.flood((i) => (transport === 'ws' ? wsEvent('flood', i) : ioEvent('flood', i)), 1500);
    expect(written).toBeGreaterThanOrEqual(transport === 'ws' ? 1 : 0);
    expect(seen.handled).toBe(0);
    // The server dropped the connection itself before the 1.5 s were over (a graceful close waits 30 s for the client).
    expect(raw.isEnded).toBe(true);
    expect(raw.received.some((text) => text.includes('THROTTLED'))).toBe(true);
  });

  it('a client flooding from its first moment, the throttle refusing after 200 ms: none handled', async () => {
    SlowThrottle.allow = false;
    const seen: Seen = { received: 0, handled: 0, beforeDecision: 0, decisions: [] };
    t = await start(transport, floodGateway(SlowThrottle, seen));
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
    const seen: Seen = { received: 0, handled: 0, beforeDecision: 0, decisions: [] };
    t = await start(transport, floodGateway(SlowThrottle, seen, scope));
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
    await until(() => seen.decisions.length > 0);
    await until(() => seen.handled >= n, 1000);
    // Whatever was held has had time to be (wrongly) handled once the refusal went out.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen.decisions).toEqual([allow]);
    expect(seen.beforeDecision).toBe(0);
    expect(seen.handled).toBe(n);
  });
});

it('socket.io holds at most 1 000 events of an undecided connection: the rest are dropped', async () => {
  const seen: Seen = { received: 0, handled: 0, beforeDecision: 0, decisions: [] };
  const t = await start('socket.io', floodGateway(HeldThrottle, seen));
  const client: Socket = io(t.url, { transports: ['websocket'], reconnection: false, forceNew: true });
  try {
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    for (let i = 0; i < 1500; i++) client.emit('flood', i);
    await until(() => seen.received === 1500);
    expect(seen.handled).toBe(0);
    HeldThrottle.decide(true);
    await until(() => seen.handled >= 1000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toEqual({ received: 1500, handled: 1000, beforeDecision: 0, decisions: [true] });
    // Once allowed, nothing is held any more.
    client.emit('flood', 'after');
    await until(() => seen.handled > 1000);
    expect(seen.handled).toBe(1001);
  } finally {
    client.disconnect();
    await t.close();
  }
});
