import { safeIdent } from './cache-key';
import type { ThrottleRequest } from './throttle-request';

/**
 * DRF's `get_ident`, made safe. With `numProxies` unset the platform's
 * `request.ip` is used (Express and Fastify apply their trust-proxy settings);
 * DRF's default of keying on the whole, client-written X-Forwarded-For is not
 * reproduced because it lets a client pick its own bucket. With `numProxies =
 * n`, DRF's rule: the n-th address from the right of X-Forwarded-For.
 */
export function clientIdent(request: ThrottleRequest, numProxies: number | undefined): string {
  if (numProxies === undefined) {
    const ip = typeof request.ip === 'string' ? normalizeAddress(request.ip) : '';
    return ip === '' ? remoteAddress(request) : safeIdent(ip);
  }
  const xff = header(request, 'x-forwarded-for');
  if (numProxies === 0 || xff === undefined) return remoteAddress(request);
  // Only the entry we need is cut out: an 8 KB header of commas costs no array.
  const client = nthFromRight(xff, Math.max(numProxies, 1)).trim();
  return client === '' ? remoteAddress(request) : safeIdent(normalizeAddress(client));
}

/** The peer address of the connection, never a header; `unknown` once the socket is gone. */
export function remoteAddress(request: ThrottleRequest): string {
  const address = request.socket?.remoteAddress ?? request.raw?.socket?.remoteAddress ?? '';
  return address === '' ? 'unknown' : safeIdent(normalizeAddress(address));
}

/** DRF's `xff.split(',')[-min(n, len)]`: the n-th comma-separated entry from the right, or the first. */
function nthFromRight(list: string, n: number): string {
  let end = list.length;
  for (let i = 1; i < n; i++) {
    const comma = list.lastIndexOf(',', end - 1);
    if (comma < 0) return list.slice(0, end);
    end = comma;
  }
  return list.slice(list.lastIndexOf(',', end - 1) + 1, end);
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
