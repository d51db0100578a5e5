/**
 * What becomes of a connection while `throttleConnection()` decides it, and
 * after: its messages wait until it is allowed, and a refused connection is
 * over at once (the `exception` event, then the socket closed without waiting
 * for the client to answer), so no message of a refused client is ever
 * handled. Nest binds a client's message handlers right after calling
 * `handleConnection`, without waiting for it, so the wait has to be made here.
 */

/** The parts of a `ws` `WebSocket` (Nest's WsAdapter) used here. */
interface WsClient {
  readyState: number;
  send(data: string): void;
  close?(code?: number, reason?: string): void;
  terminate?(): void;
  pause?(): void;
  resume?(): void;
  removeAllListeners?(event: string): unknown;
  /** The TCP socket, for a `ws` too old to pause itself. */
  _socket?: { pause?(): unknown; resume?(): unknown };
}

/** The parts of a socket.io `Socket` used here. */
interface SocketIoClient {
  use?(middleware: (event: unknown[], next: (error?: Error) => void) => void): unknown;
  emit?(event: string, payload: unknown): unknown;
  disconnect?(close?: boolean): unknown;
  /** engine.io's connection; over WebSocket, its transport's `socket` is a `ws` `WebSocket`. */
  conn?: {
    readyState?: string;
    once?(event: 'close', listener: () => void): unknown;
    transport?: { socket?: { terminate?(): void } };
  };
}

/** How `throttleConnection()` ends the wait of a connection. */
export interface ConnectionGate {
  /** The connection is allowed: the messages that waited are handled, in order, and the next ones as they come. */
  allow(): void;
  /** The connection is refused: `payload` goes out as Nest's `exception` event and the connection is over. */
  refuse(payload: unknown): void;
}

/** `ws` close code 1013, "Try Again Later". */
const TRY_AGAIN_LATER = 1013;
const WS_OPEN = 1;
/** socket.io events a client may send before its connection is decided; more are dropped. */
const MAX_HELD_EVENTS = 1000;
/** How long a refused socket.io connection has to write its `exception` event before it is cut. */
const SOCKET_IO_GRACE_MS = 1000;

/**
 * Starts holding the messages of a new connection. Called synchronously in
 * `handleConnection`, before Nest reads anything from the client: `ws` stops
 * reading the socket (the client's writes wait in TCP), socket.io holds the
 * client's events in a middleware.
 */
export function gateConnection(client: object): ConnectionGate {
  const ws = client as Partial<WsClient>;
  if (typeof ws.readyState === 'number' && typeof ws.send === 'function') return wsGate(ws as WsClient);
  const io = client as SocketIoClient;
  if (typeof io.use === 'function') return socketIoGate(io);
  return {
    allow() {},
    refuse(payload) {
      io.emit?.('exception', payload);
      io.disconnect?.(true);
    },
  };
}

function wsGate(client: WsClient): ConnectionGate {
  const paused = typeof client.pause === 'function' ? client : client._socket;
  paused?.pause?.();
  return {
    allow() {
      if (client.readyState === WS_OPEN) paused?.resume?.();
    },
    refuse(payload) {
      // When the socket closes, `ws` parses what the socket still held and emits it: nobody may be listening by then.
      client.removeAllListeners?.('message');
      if (client.readyState === WS_OPEN) {
        client.send(JSON.stringify({ event: 'exception', data: payload }));
        client.close?.(TRY_AGAIN_LATER, 'Throttled');
      }
      // The close frame went out; waiting for the client's answer would keep a client that never answers connected.
      client.terminate?.();
    },
  };
}

function socketIoGate(client: SocketIoClient): ConnectionGate {
  let state: 'pending' | 'allowed' | 'refused' = 'pending';
  const held: Array<() => void> = [];
  client.use?.((_event, next) => {
    if (state === 'allowed') next();
    else if (state === 'pending' && held.length < MAX_HELD_EVENTS) held.push(() => next());
  });
  return {
    allow() {
      state = 'allowed';
      for (const next of held.splice(0)) next();
    },
    refuse(payload) {
      state = 'refused';
      held.length = 0;
      const conn = client.conn;
      const socket = conn?.transport?.socket;
      client.emit?.('exception', payload);
      // Closes engine.io's connection once the event is written, with a graceful WebSocket close: cut it then.
      client.disconnect?.(true);
      if (typeof socket?.terminate !== 'function') return;
      const terminate = () => socket.terminate?.();
      if (conn?.readyState === 'closed') return terminate();
      const timer = setTimeout(terminate, SOCKET_IO_GRACE_MS).unref();
      conn?.once?.('close', () => {
        clearTimeout(timer);
        terminate();
      });
    },
  };
}
