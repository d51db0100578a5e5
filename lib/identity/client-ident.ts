/** Who the client is: its address (the platform's, or DRF's X-Forwarded-For rule with `numProxies`), normalised. */
import { isIPv4, isIPv6 } from 'node:net';
import { IntrinsicException } from '@nestjs/common';
import { textIdent } from './cache-key';
import { ipv6Ident, parseIPv6 } from './ipv6';
import type { ThrottleRequest } from './throttle-request';

/**
 * Thrown instead of keying a request on a shared `unknown` bucket, which
 * any client could fill for everyone (or use to dodge its own bucket).
 */
export class ClientAddressUnknownError extends Error {
  constructor() {
    super(
      'restflow-throttle: the client address of this request is unknown (its connection closed before the address ' +
        'was read, or the transport gives none), so it is refused rather than counted in a bucket shared with every ' +
        "such client. RestflowThrottleModule keeps each HTTP connection's address when it is accepted; for another " +
        'transport, override getIdent() in your throttle.',
    );
    this.name = 'ClientAddressUnknownError';
  }
}

/**
 * A connection reset before the server accepted it: the operating system no
 * longer knows its peer, not even for the module's accept hook. The request
 * is refused as {@link ClientAddressUnknownError} refuses one, but as an
 * `IntrinsicException`, which Nest's exception handler does not log: nobody
 * is left to answer, and an error log per request would let any client flood
 * the logs with a connect, a write and a reset.
 */
export class ConnectionResetError extends IntrinsicException {
  constructor() {
    super(
      'restflow-throttle: the connection was reset before its client address could be read; the request is refused.',
    );
    this.name = 'ConnectionResetError';
  }
}

/**
 * DRF's `get_ident`, made safe. With `numProxies` unset the platform's
 * `request.ip` is used (Express and Fastify apply their trust-proxy settings);
 * DRF's default of keying on the whole, client-written X-Forwarded-For is not
 * reproduced because it lets a client pick its own bucket. With `numProxies =
 * n`, DRF's rule: the n-th address from the right of X-Forwarded-For. The
 * address is then normalised (see {@link addressIdent}).
 *
 * @param ipv6Subnet prefix length IPv6 clients are grouped by (1 to 128), or `false` for none.
 * @throws ClientAddressUnknownError when no address is known at all.
 */
export function clientIdent(
  request: ThrottleRequest,
  numProxies: number | undefined,
  ipv6Subnet: number | false = 64,
): string {
  if (numProxies === undefined) {
    const ip = request.ip;
    return typeof ip === 'string' && ip !== '' ? addressIdent(ip, ipv6Subnet) : remoteAddress(request, ipv6Subnet);
  }
  const xff = header(request, 'x-forwarded-for');
  if (numProxies === 0 || xff === undefined) return remoteAddress(request, ipv6Subnet);
  // Only the entry we need is cut out: an 8 KB header of commas costs no array.
  const client = nthFromRight(xff, Math.max(numProxies, 1)).trim();
  return client === '' ? remoteAddress(request, ipv6Subnet) : addressIdent(client, ipv6Subnet);
}

/**
 * The peer address of the connection, never a header. Node keeps a socket's
 * address once it has been read, and the module reads it when the connection
 * is accepted (`PeerAddressHook`), so it survives a reset connection.
 *
 * @throws ConnectionResetError when the socket was closed before its address was read.
 * @throws ClientAddressUnknownError when the socket has no address otherwise.
 */
export function remoteAddress(request: ThrottleRequest, ipv6Subnet: number | false = 64): string {
  const socket = request.socket ?? request.raw?.socket;
  const address = socket?.remoteAddress ?? request.raw?.socket?.remoteAddress;
  if (address !== undefined && address !== '') return addressIdent(address, ipv6Subnet);
  // A TCP socket that knows its own end but not its peer's is no longer connected: the client reset it.
  const reset = socket !== undefined && (socket.destroyed === true || socket.localAddress !== undefined);
  throw reset ? new ConnectionResetError() : new ClientAddressUnknownError();
}

/** One request header as a string (several values joined as Node joins them). */
export function header(request: ThrottleRequest, name: string): string | undefined {
  const value = request.headers?.[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * An address as a client ident: a port written after it (`1.2.3.4:5678`,
 * `[2001:db8::1]:443`) dropped, a zone (`%eth0`) too; an IPv6 address that
 * carries an IPv4 client (`::ffff:a.b.c.d`, NAT64, 6to4, Teredo, any case,
 * any form) is that IPv4 client; a link-local one is keyed whole; other IPv6
 * addresses in canonical form (RFC 5952), grouped by prefix
 * (`2001:db8:1:2::/64`), because one IPv6 client owns a whole /64 and could
 * otherwise take a fresh bucket per request (see `ipv6Ident()`). Anything
 * else (a forged header) is kept as written, or hashed when long (see `textIdent()`).
 */
export function addressIdent(text: string, ipv6Subnet: number | false = 64): string {
  // The usual client, an IPv4 address: digits and dots, kept as written (what the steps below return for it).
  if (digitsAndDots(text)) return text;
  const address = withoutPort(text);
  if (!address.includes(':')) return textIdent(address);
  if (MAPPED_IPV4.test(address)) return address.slice(7);
  const zone = address.indexOf('%');
  const plain = zone < 0 ? address : address.slice(0, zone);
  if (!isIPv6(plain)) return textIdent(address);
  return ipv6Ident(parseIPv6(plain), ipv6Subnet);
}

/** At most 15 characters, each a digit or a dot: printable, short, with no port or IPv6 to read. */
function digitsAndDots(text: string): boolean {
  const length = text.length;
  if (length === 0 || length > 15) return false;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 46 && (c < 48 || c > 57)) return false;
  }
  return true;
}

/** The usual dual-stack form (`::ffff:` and a valid IPv4 address), read without parsing the whole address. */
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const MAPPED_IPV4 = new RegExp(`^::ffff:${OCTET}(?:\\.${OCTET}){3}$`, 'i');
const PORT = /^:\d{1,5}$/;

/** `1.2.3.4:5678` -> `1.2.3.4`, `[2001:db8::1]:443` and `[2001:db8::1]` -> `2001:db8::1`; anything else as is. */
function withoutPort(text: string): string {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    const inside = text.slice(1, close);
    const rest = text.slice(close + 1);
    return close > 0 && (rest === '' || PORT.test(rest)) && isIPv6(inside) ? inside : text;
  }
  const colon = text.indexOf(':');
  if (colon < 0 || colon !== text.lastIndexOf(':')) return text;
  const host = text.slice(0, colon);
  return PORT.test(text.slice(colon)) && isIPv4(host) ? host : text;
}

/** DRF's `xff.split(',')[-min(n, len)]`: the n-th comma-separated entry from the right, or the first. */
function nthFromRight(list: string, n: number): string {
  // One entry (a client talking to one proxy): `indexOf` is a fast builtin, `lastIndexOf` a slow one.
  if (list.indexOf(',') < 0) return list;
  let end = list.length;
  for (let i = 1; i < n; i++) {
    const comma = list.lastIndexOf(',', end - 1);
    if (comma < 0) return list.slice(0, end);
    end = comma;
  }
  return list.slice(list.lastIndexOf(',', end - 1) + 1, end);
}
