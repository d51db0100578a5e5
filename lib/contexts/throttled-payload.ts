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

/** DRF's detail and the rounded wait, exactly as the HTTP 429 would say them. */
export function throttledPayload(wait: number | null, headers?: Readonly<Record<string, string>>): ThrottledPayload {
  const exception = new ThrottledException(wait);
  const payload = { status: 'error', message: exception.detail, code: THROTTLED_CODE, retryAfter: exception.wait } as const;
  return headers === undefined ? payload : { ...payload, headers };
}
