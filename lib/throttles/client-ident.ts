import type { ThrottleRequest } from './throttle-request';

/**
 * DRF's `get_ident`, made safe. With `numProxies` unset the platform's
 * `request.ip` is used (Express and Fastify apply their trust-proxy settings);
 * DRF's default of keying on the whole, client-written X-Forwarded-For is not
 * reproduced because it lets a client pick its own bucket. With `numProxies =
 * n`, DRF's rule: the n-th address from the right of X-Forwarded-For.
 */
export function clientIdent(request: ThrottleRequest, numProxies: number | undefined): string {
  const remote = remoteAddress(request);
  if (numProxies === undefined) return normalizeAddress(request.ip ?? '') || remote;
  const xff = header(request, 'x-forwarded-for');
  if (numProxies === 0 || xff === undefined) return remote;
  const addrs = xff.split(',');
  const client = addrs[addrs.length - Math.min(numProxies, addrs.length)].trim();
  return normalizeAddress(client) || remote;
}

/** The peer address of the connection, never a header. */
export function remoteAddress(request: ThrottleRequest): string {
  const address = request.socket?.remoteAddress ?? request.raw?.socket?.remoteAddress ?? '';
  return normalizeAddress(address);
}

/** One request header as a string (several values joined as Node joins them). */
export function header(request: ThrottleRequest, name: string): string | undefined {
  const value = request.headers?.[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** `::ffff:1.2.3.4` and `1.2.3.4` are one client. */
function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
