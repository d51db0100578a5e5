/**
 * A GraphQL subscription over `graphql-ws` seen as a request: the connection's
 * upgrade request for its address and headers, the user from graphql-ws'
 * context. Apollo through Nest runs subscriptions with graphql-ws' context as
 * the GraphQL context's `req`, which has neither an address nor headers.
 */
import type { PeerSocket, ThrottleRequest } from '../identity/throttle-request';

/** The parts of graphql-ws' `Context` read here (`extra` as `graphql-ws/use/ws` fills it). */
export interface GraphQLWsContext {
  readonly connectionParams?: unknown;
  readonly extra: { readonly request: UpgradeRequest; user?: unknown };
  /** Where an auth guard that signs in `getContext().req` leaves the user. */
  user?: unknown;
}

/** The HTTP upgrade request a WebSocket connection began with (Node's `IncomingMessage`). */
interface UpgradeRequest {
  readonly headers: ThrottleRequest['headers'];
  readonly socket?: PeerSocket;
  user?: unknown;
}

/**
 * graphql-ws' context when `value` is one: an object with no headers of its
 * own whose `extra.request` is an HTTP request. `undefined` otherwise.
 */
export function graphqlWsContext(value: unknown): GraphQLWsContext | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if ((value as { headers?: unknown }).headers !== undefined) return undefined;
  const extra = (value as { extra?: { request?: { headers?: unknown } } }).extra;
  const headers = typeof extra === 'object' && extra !== null ? extra.request?.headers : undefined;
  return typeof headers === 'object' && headers !== null ? (value as GraphQLWsContext) : undefined;
}

/**
 * One subscribe of a graphql-ws connection as the throttles read it: the
 * upgrade request's headers, so `numProxies` applies to its
 * X-Forwarded-For, and its socket, whose peer is the connection's client
 * (the module read that address when the connection was accepted). No
 * `ip`: the platform's trust-proxy setting does not reach an upgrade
 * request. The user is the one an auth guard left on graphql-ws' context
 * (`getContext().req.user`), on its `extra`, or on the upgrade request.
 */
export class GraphQLWsThrottleRequest implements ThrottleRequest {
  readonly headers: ThrottleRequest['headers'];
  readonly socket: PeerSocket | undefined;
  private assignedUser: unknown;

  constructor(readonly connection: GraphQLWsContext) {
    const upgrade = connection.extra.request;
    this.headers = upgrade.headers;
    this.socket = upgrade.socket;
  }

  /** graphql-ws' `connectionParams` (the `connection_init` payload), for a `getIdent()` that keys on it. */
  get connectionParams(): unknown {
    return this.connection.connectionParams;
  }

  get user(): unknown {
    const connection = this.connection;
    return this.assignedUser ?? connection.user ?? connection.extra.user ?? connection.extra.request.user;
  }

  set user(user: unknown) {
    this.assignedUser = user;
  }
}
