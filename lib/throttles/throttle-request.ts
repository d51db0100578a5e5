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
  socket?: { remoteAddress?: string };
  /** Fastify: the Node request. */
  raw?: { socket?: { remoteAddress?: string } };
  /** Set by an authentication guard. */
  user?: unknown;
}

/** An authenticated user as the throttles read it (Passport, JWT payloads, DRF-style objects). */
export interface ThrottleUser {
  isAuthenticated?: boolean;
  id?: unknown;
  pk?: unknown;
  sub?: unknown;
  userId?: unknown;
}
