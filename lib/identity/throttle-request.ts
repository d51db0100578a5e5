/**
 * The request as a throttle sees it: what Express's `Request` and Fastify's
 * `FastifyRequest` have in common. Subclasses may narrow it to their
 * platform's type.
 */
export interface ThrottleRequest {
  /** The platform's client address (after its own trust-proxy rules). */
  ip?: string;
  headers: Record<string, string | string[] | undefined>;
  /** Express: the socket. */
  socket?: PeerSocket;
  /** Fastify: the Node request. */
  raw?: { socket?: PeerSocket };
  /** Set by an authentication guard. */
  user?: unknown;
  /** The parsed body (Express and Fastify parse it before the guards): for a request's cost, a login form's account. */
  body?: unknown;
}

/** The connection a request came on, as far as keying it goes. */
export interface PeerSocket {
  /** The peer's address; `undefined` once the operating system no longer knows it. */
  readonly remoteAddress?: string;
  /** This end's address: a TCP socket keeps it after a reset; a Unix socket has none. */
  readonly localAddress?: string;
  /** Node's flag: the connection is closed. */
  readonly destroyed?: boolean;
}

/** An authenticated user as the throttles read it (Passport, JWT payloads, DRF-style objects). */
export interface ThrottleUser {
  isAuthenticated?: boolean;
  id?: unknown;
  pk?: unknown;
  sub?: unknown;
  userId?: unknown;
}
