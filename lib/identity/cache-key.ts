// Cache keys: idents made safe, the built-in key spaces, `cacheFormat` filled in, the globs that find them again.
import { createHash } from 'node:crypto';

/** Longest ident kept as written; longer ones (API keys, hostile headers) are hashed. */
const MAX_IDENT = 64;
/** No cache key is longer, which keeps memcached-style stores valid too. */
const MAX_KEY = 250;
/** Printable ASCII without spaces: safe in any store and in a log line. */
const SAFE = /^[\x21-\x7e]*$/;

/** An ident safe to put in a key: short printable ones as they are, others as a SHA-256. */
export function safeIdent(ident: string): string {
  return ident.length <= MAX_IDENT && SAFE.test(ident) ? ident : hashIdent(ident);
}

/**
 * Text from outside (a user id, a forged address) as an ident: as
 * {@link safeIdent}, except that text written in the form of a hashed or a
 * binary ident (`h:...`, `b:...`) is hashed too. Otherwise a user whose id
 * is `h:` and the hash of another's long id would share that user's bucket.
 */
export function textIdent(text: string): string {
  const derived = text.charCodeAt(1) === 58 && (text.charCodeAt(0) === 104 || text.charCodeAt(0) === 98);
  return derived ? hashIdent(text) : safeIdent(text);
}

/**
 * The built-in throttles' key spaces. DRF keys user ids and addresses alike,
 * so a user whose id is `127.0.0.1` shares that address's bucket; here an
 * address is keyed as `ip:` and the address, a user as `user:` and the id,
 * and an ident too long for a key is hashed whole, prefix included, into
 * `h:...`, which neither form can be.
 */
export function addressKeyIdent(ident: string): string {
  return `ip:${ident}`;
}

/** See {@link addressKeyIdent}: `user:` and a user id as `getUserId()` gives it. */
export function userKeyIdent(userId: string): string {
  return `user:${userId}`;
}

/**
 * `h:` and the SHA-256 of a value, for idents that must not be stored as
 * written (API keys, tokens): `this.formatKey(hashIdent(apiKey))`.
 */
export function hashIdent(value: string): string {
  return `h:${digest(value)}`;
}

/** A whole key held to the same rule, for keys a subclass built by itself. */
export function safeKey(key: string): string {
  return key.length <= MAX_KEY && SAFE.test(key) ? key : `throttle_h:${digest(key)}`;
}

/**
 * A route's name (`ArticlesController.list`) as it goes into a key for `{route}`: letters, digits and
 * `_ . $ -` as written, any other character as `%` and its UTF-8 bytes in hex, so that the key stays
 * printable, holds no glob or Redis Cluster hash-tag character, and two names never become one.
 */
export function routeKey(name: string): string {
  return /^[\w.$-]*$/.test(name) ? name : Array.from(name, encodeRouteChar).join('');
}

function encodeRouteChar(char: string): string {
  if (/^[\w.$-]$/.test(char)) return char;
  return Array.from(Buffer.from(char, 'utf8'), (byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(
    '',
  );
}

/** `{route}` then `{scope}` filled in: a route key holds no brace, so it cannot bring in a placeholder. */
function fill(format: string, scope: string | undefined, route: string | undefined): string {
  return format.replaceAll('{route}', route ?? '').replaceAll('{scope}', scope ?? '');
}

/** A `cacheFormat` with its route and scope filled in, split around `{ident}` once rather than on every request. */
export class KeyFormat {
  private readonly parts: readonly string[];
  /** Whether the format's own text is printable: then a key is printable exactly when its ident is. */
  private readonly printable: boolean;

  /** @param route the route's {@link routeKey}, for `{route}` (empty when the throttle is not bound to a route). */
  constructor(
    readonly format: string,
    readonly scope: string | undefined,
    readonly route?: string,
  ) {
    // Route and scope first, then ident, as `replaceAll` in turn would: an ident holding `{scope}` stays as written.
    this.parts = fill(format, scope, route).split('{ident}');
    this.printable = this.parts.every((part) => SAFE.test(part));
  }

  /**
   * The key for an ident, made safe as {@link safeIdent} makes it. Joined, not concatenated: `+` makes a rope,
   * which the store's Map would hash piece by piece and keep as two strings. The joined key is what is tested
   * when the format is printable: an ident built with `+` (`ip:` and an address) is a rope too, and a regular
   * expression would first copy it flat, a third of the guard's own time per request.
   */
  key(ident: string): string {
    if (ident.length <= MAX_IDENT) {
      const key = this.parts.join(ident);
      if (this.printable ? SAFE.test(key) : SAFE.test(ident)) return key;
    }
    return this.parts.join(hashIdent(ident));
  }
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** Longest Buffer id kept as hex; longer ones are hashed (the ident stays within 64 characters). */
const MAX_HEX_BYTES = 31;

/**
 * A user id as an ident. Strings, finite numbers and bigints as written
 * (hashed when long, unprintable or written as an `h:` or `b:` ident, as
 * {@link textIdent}); Buffers and
 * Uint8Arrays by their bytes (`b:` and hex, or `b:` and a SHA-256 when
 * long), so two binary ids never share a bucket. Anything else (an object,
 * `NaN`, an empty string) would put many users in one bucket, so it is a
 * `TypeError` that says what `getUserId()` must return.
 *
 * @param throttleName the throttle class, for the error message.
 */
export function userIdent(id: unknown, throttleName = 'SimpleRateThrottle'): string {
  if (typeof id === 'string' && id !== '') return textIdent(id);
  if ((typeof id === 'number' && Number.isFinite(id)) || typeof id === 'bigint') return String(id);
  if (id instanceof Uint8Array) {
    const bytes = Buffer.isBuffer(id) ? id : Buffer.from(id.buffer, id.byteOffset, id.byteLength);
    if (bytes.length <= MAX_HEX_BYTES) return `b:${bytes.toString('hex')}`;
    return `b:${createHash('sha256').update(bytes).digest('base64url')}`;
  }
  throw new TypeError(
    `${throttleName}: the user id must be a non-empty string, a finite number, a bigint or a Buffer, ` +
      `got ${describe(id)}. ` +
      `Override getUserId() to return a string ident (e.g. String(user.id)).`,
  );
}

/** What a rejected id is, without printing its contents (they may be secrets). */
function describe(value: unknown): string {
  if (value === '') return 'an empty string';
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'object' || value === null) return typeof value;
  const name = Object.getPrototypeOf(value)?.constructor?.name as string | undefined;
  return name === undefined || name === 'Object' ? 'an object' : `a ${name}`;
}

/** The glob of the keys `formatKey()` makes: the format with the route and scope filled in, and any ident. */
export function keyPattern(format: string, scope: string | undefined, route?: string): string {
  const glob = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');
  return fill(format, scope, route).split('{ident}').map(glob).join('*');
}
