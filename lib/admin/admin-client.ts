/** A client as support staff name it (a user id, an IP address), made into the request its throttles key. */
import { isIP } from 'node:net';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import type { ThrottleRequest } from '../identity/throttle-request';

/**
 * One client, as `ThrottleAdmin` takes it: who (a user, an address, or
 * more of a request) and, when the throttle keeps several buckets for it,
 * which one. The admin builds a request from it and lets the throttle key
 * that request as it keys real ones (`getCacheKey()`, `getUserId()`,
 * `getIdent()`), so the bucket found is the one the client's requests count in.
 */
export interface ThrottleClient {
  /**
   * The user's id, as your authentication sets it on `request.user` (`42`,
   * `'alice'`), or the whole user object when a throttle reads more of it
   * (`{ id: 7, tenantId: 'acme' }`). The request is then authenticated.
   */
  readonly user?: string | number | bigint | object;
  /**
   * The IP address the client's requests arrive from (after `numProxies`),
   * normalised as the throttles do it: `::ffff:203.0.113.7` is
   * `203.0.113.7`, and an IPv6 address stands for its /64 (the module's `ipv6Subnet`).
   */
  readonly address?: string;
  /**
   * More of a request, for a throttle whose `getCacheKey()` or
   * `getRequestRate()` reads something else (a header, the body): merged
   * over what `user` and `address` set.
   */
  readonly request?: Readonly<Partial<ThrottleRequest> & Record<string, unknown>>;
  /**
   * Only this route's bucket (`ArticlesController.list`), for a throttle
   * with `{route}` in its `cacheFormat`, which counts each route apart.
   */
  readonly route?: string;
}

/** The request a throttle keys for `client`: a fresh object each time, as every request is. */
export function clientRequest(client: ThrottleClient): ThrottleRequest {
  const request: ThrottleRequest = { headers: {} };
  const { user, address } = client;
  if (address !== undefined) {
    // Both: `request.ip` is read with numProxies unset, the socket's peer with numProxies set.
    request.ip = address;
    request.socket = { remoteAddress: address };
  }
  if (user !== undefined) request.user = typeof user === 'object' ? user : { id: user };
  const extra = client.request;
  if (extra === undefined) return request;
  return { ...request, ...extra, headers: { ...request.headers, ...extra.headers } };
}

/** `client` as given to a `ThrottleAdmin` method, checked: what cannot name anyone is refused, saying why. */
export function checkClient(client: ThrottleClient): void {
  if (typeof client !== 'object' || client === null) invalid(`a client is an object, got ${describe(client)}`);
  const { user, address, request, route } = client;
  if (user === undefined && address === undefined && request === undefined) {
    invalid('name the client: `user` (its id), `address` (its IP address), or `request` (fields of its requests)');
  }
  if (user !== undefined && !isUserId(user)) {
    invalid(`\`user\` is a non-empty string, a finite number, a bigint or a user object, got ${describe(user)}`);
  }
  if (address !== undefined && (typeof address !== 'string' || isIP(address) === 0)) {
    invalid(`\`address\` is an IPv4 or IPv6 address, got ${describe(address)}`);
  }
  if (request !== undefined && (typeof request !== 'object' || request === null)) {
    invalid(`\`request\` is an object of request fields, got ${describe(request)}`);
  }
  if (route !== undefined && (typeof route !== 'string' || route === '')) {
    invalid(`\`route\` is a route's name such as 'ArticlesController.list', got ${describe(route)}`);
  }
}

/** `seconds` as given to `block()`: a positive number of seconds, no longer than a rate's window may be. */
export function checkSeconds(seconds: unknown, most: number): asserts seconds is number {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0 || seconds > most) {
    invalid(`block() takes a number of seconds, more than 0 and at most ${most}, got ${describe(seconds)}`);
  }
}

function isUserId(user: unknown): boolean {
  if (typeof user === 'string') return user !== '';
  if (typeof user === 'number') return Number.isFinite(user);
  return typeof user === 'bigint' || (typeof user === 'object' && user !== null);
}

function invalid(reason: string): never {
  throw new ImproperlyConfiguredError(`ThrottleAdmin: ${reason}.`, 'RFT_ADMIN_INVALID_ARGUMENT');
}

/** A value for a message: short, and never a whole object (it may hold secrets). */
function describe(value: unknown): string {
  if (typeof value === 'string') return value.length > 60 ? `a string of ${value.length} characters` : `'${value}'`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : typeof value;
}
