/** Microservice messages: what their throttles read, and the RPC error a throttled message raises. */
import type { ArgumentsHost } from '@nestjs/common';
import type { ThrottleRequest } from '../identity/throttle-request';
import type { ThrottleTarget } from './target';
import { failurePayload, throttledPayload } from './throttled-payload';
import { transportException } from './transport-exceptions';

/** `@nestjs/microservices`' metadata key, read structurally so the package stays optional. */
const PATTERN_METADATA = 'microservices:pattern';

/** A `@MessagePattern()` or `@EventPattern()` handler. */
export function isPatternHandler(handler: Function): boolean {
  return Reflect.getMetadata(PATTERN_METADATA, handler) !== undefined;
}

/** The parts of Nest's RPC contexts (`TcpContext`, `RedisContext`, `NatsContext`...) read here. */
interface RpcContextLike {
  /** `TcpContext`: the JSON socket around the connection. */
  getSocketRef?(): { netSocket?: { remoteAddress?: string }; socket?: { remoteAddress?: string } } | undefined;
  getPattern?(): unknown;
  getChannel?(): unknown;
  getSubject?(): unknown;
  getTopic?(): unknown;
}

/**
 * An RPC message seen as a request. Only TCP knows who sent a message: its
 * `socket.remoteAddress` is the peer's address, as for HTTP. Brokered
 * transports (Redis, NATS, MQTT, RabbitMQ, Kafka) have no sender address, so
 * the transport's name stands in for it: every producer shares one bucket
 * per scope, and the rate is the handler's overall rate. Override
 * `getIdent()` to key on a field of `data` (a tenant, a user) instead.
 */
export class RpcThrottleRequest implements ThrottleRequest {
  readonly headers: ThrottleRequest['headers'] = {};
  readonly socket: { readonly remoteAddress: string };
  /** `undefined`: an RPC message has no platform-resolved address. */
  readonly ip = undefined;
  user?: unknown;

  /**
   * @param data the message's payload.
   * @param pattern the pattern the message was sent to.
   * @param transport `tcp`, `redis`, `nats`, `mqtt`, `rmq`, `kafka`... (from Nest's context class), or `rpc`.
   */
  constructor(
    readonly data: unknown,
    readonly pattern: unknown,
    readonly transport: string,
    address: string | undefined,
  ) {
    this.socket = { remoteAddress: address ?? transport };
  }
}

/** A microservice message: `[data, transportContext]`. */
export function rpcTarget(context: ArgumentsHost): ThrottleTarget {
  const data = context.getArgByIndex(0) as unknown;
  const rpcContext = (context.getArgByIndex(1) ?? {}) as RpcContextLike;
  const socket = rpcContext.getSocketRef?.();
  const address = socket?.netSocket?.remoteAddress ?? socket?.socket?.remoteAddress;
  const pattern =
    rpcContext.getPattern?.() ?? rpcContext.getChannel?.() ?? rpcContext.getSubject?.() ?? rpcContext.getTopic?.();
  const request = new RpcThrottleRequest(data, pattern, transportOf(rpcContext), address);
  return {
    request,
    throttled(wait, headers, detail) {
      const Exception = transportException('rpc');
      return new Exception(throttledPayload(wait, headers, detail));
    },
    failed(error) {
      const payload = failurePayload(error);
      return payload === undefined ? error : new (transportException('rpc'))(payload);
    },
  };
}

/** `RedisContext` -> `redis`; a custom context class without the suffix -> `rpc`. */
function transportOf(rpcContext: object): string {
  const name = rpcContext.constructor?.name ?? '';
  return name.endsWith('Context') && name.length > 'Context'.length
    ? name.slice(0, -'Context'.length).toLowerCase()
    : 'rpc';
}
