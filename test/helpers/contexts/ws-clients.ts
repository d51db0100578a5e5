import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { WsTransport } from './gateway-app';

/** What the server sent back for one message: the handler's reply or Nest's `exception` event. */
export type Answer = { event: string; data: unknown };

/** One connection, through socket.io-client or ws, that sends a message and waits for the next answer. */
export interface GatewayClient {
  /** Sends `{ event, data }`; resolves with the next event the server sends. */
  send(event: string, data?: unknown): Promise<Answer>;
  /** Events received but not yet taken by `send` (e.g. on a refused connection). */
  next(): Promise<Answer>;
  /** Resolves with how the server ended the connection (socket.io: the reason; ws: the close code). */
  readonly closed: Promise<string | number>;
  close(): void;
}

/** Connects to the app at `url` (socket.io: to `namespace`) and resolves once connected. */
export async function connect(
  transport: WsTransport,
  url: string,
  headers: Record<string, string> = {},
  namespace = '/',
): Promise<GatewayClient> {
  const inbox = new Inbox();
  if (transport === 'socket.io') {
    const socket: Socket = io(new URL(namespace, url).href, {
      transports: ['websocket'],
      extraHeaders: headers,
      reconnection: false,
      forceNew: true,
    });
    socket.onAny((event: string, data: unknown) => inbox.push({ event, data }));
    const closed = new Promise<string>((resolve) => socket.on('disconnect', (reason) => resolve(reason)));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return {
      send(event, data) {
        socket.emit(event, data);
        return inbox.next();
      },
      next: () => inbox.next(),
      closed,
      close: () => socket.disconnect(),
    };
  }
  const socket = new WebSocket(url.replace('http', 'ws'), { headers });
  socket.on('message', (raw) => inbox.push(JSON.parse(raw.toString()) as Answer));
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    send(event, data) {
      socket.send(JSON.stringify({ event, data }));
      return inbox.next();
    },
    next: () => inbox.next(),
    closed,
    close: () => socket.close(),
  };
}

/** Messages in arrival order, handed to whoever waits first. */
class Inbox {
  private readonly queued: Answer[] = [];
  private readonly waiting: ((answer: Answer) => void)[] = [];

  push(answer: Answer): void {
    const waiter = this.waiting.shift();
    if (waiter !== undefined) waiter(answer);
    else this.queued.push(answer);
  }

  next(): Promise<Answer> {
    const answer = this.queued.shift();
    if (answer !== undefined) return Promise.resolve(answer);
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}
