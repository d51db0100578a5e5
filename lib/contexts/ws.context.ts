/** WebSocket messages (socket.io, ws): what their throttles read, and the error a throttled message gets. */
import type { ArgumentsHost } from '@nestjs/common';
import { THROTTLES_METADATA } from '../module/constants';
import type { ThrottleRequest } from '../identity/throttle-request';
import type { ThrottleTarget } from './target';
import { failurePayload, throttledPayload, type ThrottledPayload } from './throttled-payload';
import { transportException } from './transport-exceptions';

/** `@nestjs/websockets`' metadata keys, read structurally so the package stays optional. */
const GATEWAY_METADATA = 'websockets:is_gateway';
const MESSAGE_MAPPING_METADATA = 'websockets:message_mapping';

/**
 * A `@SubscribeMessage()` handler, or a gateway's `handleConnection` that
 * declares its own `@Throttle()`: the throttles of connections, run by
 * `throttleConnection()`.
 */
export function isGatewayHandler(classRef: Function, handler: Function): boolean {
  if (Reflect.getMetadata(MESSAGE_MAPPING_METADATA, handler) === true) return true;
  return (
    handler.name === 'handleConnection' &&
    Reflect.getMetadata(GATEWAY_METADATA, classRef) === true &&
    Reflect.getMetadata(THROTTLES_METADATA, handler) !== undefined
  );
}

/** The parts of a socket.io `Socket` and of a `ws` `WebSocket` read here. */
export interface GatewayClient {
  /** socket.io: the handshake, kept for the connection's lifetime. */
  handshake?: { address?: string; headers?: ThrottleRequest['headers'] };
  /** socket.io's `socket.request`; on `ws`, where `throttleConnection()` keeps the upgrade request. */
  request?: { headers?: ThrottleRequest['headers']; socket?: { remoteAddress?: string } };
  /** `ws`: the TCP socket. */
  _socket?: { remoteAddress?: string };
  /** socket.io's per-socket bag, where auth guards usually put the user. */
  data?: { user?: unknown };
  user?: unknown;
}

/**
 * A message (or a connection) seen as a request: the handshake's headers,
 * so `numProxies` applies to its `X-Forwarded-For`, the connection's peer
 * address, and the user an auth guard left on the client.
 */
export class WsThrottleRequest implements ThrottleRequest {
  readonly headers: ThrottleRequest['headers'];
  readonly socket: { readonly remoteAddress?: string };
  private assignedUser: unknown;

  /**
   * @param client the socket.io `Socket` or the `ws` `WebSocket`.
   * @param data the message's payload (`undefined` for a connection), for a `getIdent()` that keys on a field of it.
   */
  constructor(
    readonly client: GatewayClient,
    readonly data: unknown,
  ) {
    const handshake = client.handshake;
    this.headers = handshake?.headers ?? client.request?.headers ?? {};
    this.socket = {
      remoteAddress: handshake?.address ?? client.request?.socket?.remoteAddress ?? client._socket?.remoteAddress,
    };
  }

  /** `client.data.user` (socket.io's convention) or `client.user`, unless set on this request. */
  get user(): unknown {
    return this.assignedUser ?? this.client.data?.user ?? this.client.user;
  }

  set user(user: unknown) {
    this.assignedUser = user;
  }
}

/** The payload of Nest's `exception` event for a throttled message: Nest's shape plus the code and the wait. */
export interface WsThrottledPayload extends ThrottledPayload {
  /** As Nest's own `exception` payloads: the message that was refused. */
  readonly cause: { readonly pattern: unknown; readonly data: unknown };
}

/** A gateway message: `[client, data, pattern]`. */
export function wsTarget(context: ArgumentsHost): ThrottleTarget {
  const client = context.getArgByIndex(0) as GatewayClient | undefined;
  if (client === undefined || client === null || typeof client !== 'object') {
    throw new Error('restflow-throttle: a WebSocket context without a client cannot be throttled.');
  }
  const data = context.getArgByIndex(1) as unknown;
  const request = new WsThrottleRequest(client, data);
  return {
    request,
    throttled(wait, headers, detail) {
      const Exception = transportException('ws');
      const payload: WsThrottledPayload = { ...throttledPayload(wait, headers, detail), cause: causeOf(context, data) };
      return new Exception(payload);
    },
    failed(error) {
      const payload = failurePayload(error);
      return payload === undefined
        ? error
        : new (transportException('ws'))({ ...payload, cause: causeOf(context, data) });
    },
  };
}

/** As Nest's own `exception` payloads: the refused message's pattern (the last argument) and data. */
function causeOf(context: ArgumentsHost, data: unknown): { pattern: unknown; data: unknown } {
  return { pattern: context.getArgByIndex(context.getArgs().length - 1) as unknown, data };
}
