import { Injectable, Scope, type INestApplication, type Type } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import { SubscribeMessage, WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import {
  RestflowThrottleModule,
  Throttle,
  throttleConnection,
  type BaseThrottle,
  type RestflowThrottleOptions,
} from 'restflow-throttle';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { serve, type TestApp } from '../http-app';
import type { WsTransport } from './gateway-app';

/** What a flood gateway saw: events received (socket.io), messages handled, and how many before the decision. */
export interface Seen {
  received: number;
  handled: number;
  beforeDecision: number;
  decisions: boolean[];
}

export const nothingSeen = (): Seen => ({ received: 0, handled: 0, beforeDecision: 0, decisions: [] });

/**
 * A gateway whose connections `throttle` decides through
 * `throttleConnection()`, and whose `flood` message is not throttled: only
 * the connection's refusal can keep a message from it. It counts in `seen`.
 */
export function floodGateway(throttle: Type<BaseThrottle>, seen: Seen, scope = Scope.DEFAULT): Type {
  @WebSocketGateway()
  @Injectable({ scope })
  class FloodGateway implements OnGatewayConnection {
    private readonly decided = new WeakSet<object>();

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

/** Serves `gateway` on `transport` (Nest's WsAdapter or IoAdapter, on Express). */
export async function startFloodApp(
  transport: WsTransport,
  gateway: Type,
  options: RestflowThrottleOptions = {},
): Promise<TestApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [RestflowThrottleModule.forRoot(options)],
    providers: [gateway],
  }).compile();
  const app: INestApplication = moduleRef.createNestApplication({ logger: false });
  app.useWebSocketAdapter(transport === 'ws' ? new WsAdapter(app) : new IoAdapter(app));
  return serve(app);
}

/** socket.io's wire format over engine.io 4: the path of a raw upgrade, and an event (`40` connects the namespace). */
export const SOCKET_IO_PATH = '/socket.io/?EIO=4&transport=websocket';
export const ioEvent = (event: string, data: unknown) => `42${JSON.stringify([event, data])}`;
export const wsEvent = (event: string, data: unknown) => JSON.stringify({ event, data });

/** A well-behaved client (the `ws` or socket.io-client library), open; `close()` ends it. */
export interface FloodClient {
  emit(event: string, data: unknown): void;
  close(): void;
}

export async function openClient(transport: WsTransport, url: string): Promise<FloodClient> {
  if (transport === 'ws') {
    const client = new WebSocket(url.replace('http', 'ws'));
    client.on('error', () => undefined);
    await new Promise((resolve) => client.once('open', resolve));
    return { emit: (event, data) => client.send(wsEvent(event, data)), close: () => client.terminate() };
  }
  const client: Socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  return { emit: (event, data) => void client.emit(event, data), close: () => void client.disconnect() };
}

/** Waits until `check()` holds, polling each 10 ms, for at most `ms` (then the test's expectations say what failed). */
export async function settle(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}
