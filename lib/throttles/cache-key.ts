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

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
