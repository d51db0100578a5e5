/** The payload a throttled or failed WS/RPC message carries: DRF's detail, a code and the wait. */
import { ThrottledException } from '../exceptions/throttled.exception';

/** The machine-readable code of a throttled operation, message or connection, in every transport. */
export const THROTTLED_CODE = 'THROTTLED';

/**
 * What a client of a transport without HTTP status codes receives when it is
 * throttled: Nest's own error payload (`status`, `message`) carrying DRF's
 * detail, plus a code and the wait a client can act on without parsing text.
 */
export interface ThrottledPayload {
  readonly status: 'error';
  /** DRF's detail: `Request was throttled. Expected available in 42 seconds.` */
  readonly message: string;
  readonly code: typeof THROTTLED_CODE;
  /** Whole seconds until a retry may succeed (rounded up), or `null` when unknown. */
  readonly retryAfter: number | null;
  /** The rate-limit headers (the `headers` option) that an HTTP response would carry. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** DRF's detail (or the app's own `detail`) and the rounded wait, as the HTTP 429 would say them. */
export function throttledPayload(
  wait: number | null,
  headers?: Readonly<Record<string, string>>,
  detail?: string,
): ThrottledPayload {
  const exception = new ThrottledException(wait);
  const message = detail ?? exception.detail;
  const payload = { status: 'error', message, code: THROTTLED_CODE, retryAfter: exception.wait } as const;
  return headers === undefined ? payload : { ...payload, headers };
}

/** What a client of such a transport receives when the throttles could not decide (e.g. the cache is down under `onCacheError: 'deny'`). */
export interface FailurePayload {
  readonly status: 'error';
  /** The exception's `detail` (or message). */
  readonly message: string;
  /** `SERVICE_UNAVAILABLE` for a 503, else `HTTP_<status>`. */
  readonly code: string;
  /** The HTTP status the same refusal has over HTTP. */
  readonly statusCode: number;
}

/** The parts of Nest's `HttpException` read here. */
interface HttpExceptionLike {
  getStatus(): number;
  getResponse(): unknown;
  message: string;
}

/**
 * The payload of an `HttpException` raised while throttling (the module's
 * `CacheUnavailableException`, or one a throttle throws on purpose), for a
 * transport that has no HTTP status; `undefined` for any other error, which
 * stays a bug to be logged.
 */
export function failurePayload(error: unknown): FailurePayload | undefined {
  const candidate = error as Partial<HttpExceptionLike> | null;
  if (typeof candidate?.getStatus !== 'function' || typeof candidate.getResponse !== 'function') return undefined;
  const statusCode = candidate.getStatus();
  const response = candidate.getResponse() as { detail?: unknown; message?: unknown } | string;
  const text = typeof response === 'string' ? response : (response?.detail ?? response?.message);
  const message = typeof text === 'string' ? text : String(candidate.message);
  return {
    status: 'error',
    message,
    code: statusCode === 503 ? 'SERVICE_UNAVAILABLE' : `HTTP_${statusCode}`,
    statusCode,
  };
}
