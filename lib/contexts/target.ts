/** One request of a non-HTTP context, as the guard needs it: what throttles read, and how to answer. */
import type { ThrottleRequest } from '../identity/throttle-request';

/** The transports a throttled handler can belong to. */
export type HandlerKind = 'http' | 'graphql' | 'ws' | 'rpc';

/**
 * One request of a non-HTTP context, as the guard needs it: what the
 * throttles read, and how to answer in the transport's own form.
 */
export interface ThrottleTarget {
  /**
   * What the throttles read: ip, headers, socket, user. GraphQL: the HTTP
   * request behind the operation; WS: a view of the connection's handshake;
   * RPC: a view of what the transport gives.
   */
  readonly request: ThrottleRequest;
  /**
   * The error to throw when throttled, in the transport's form, carrying
   * DRF's detail and the wait in whole seconds; over HTTP (GraphQL) it also
   * sets `Retry-After`. `headers` are the rate-limit headers, set where the
   * transport has headers and carried in the error's payload. `detail`: the
   * app's own text (the module's `throttledException`) instead of DRF's.
   */
  throttled(wait: number | null, headers?: Readonly<Record<string, string>>, detail?: string): Error;
  /** Sets rate-limit headers on an allowed operation, where the transport has them. */
  setHeaders?(headers: Readonly<Record<string, string>>): void;
  /**
   * What to throw instead of an error a throttle or the cache raised: an
   * `HttpException` (the 503 of `onCacheError: 'deny'`) becomes the
   * transport's error carrying its detail and status; any other error is
   * returned as it is (a bug, which Nest logs).
   */
  failed?(error: unknown): unknown;
}
