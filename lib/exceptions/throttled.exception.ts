/** DRF's `Throttled`: the 429 with its detail and the wait that becomes `Retry-After`. */
import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * DRF's `Throttled`: 429 Too Many Requests. The body is
 * `{"detail": "Request was throttled. Expected available in 42 seconds."}`
 * and, through `ThrottledExceptionFilter`, `Retry-After: 42`.
 */
export class ThrottledException extends HttpException {
  /** DRF's error code. */
  readonly code = 'throttled';
  /** Whole seconds to wait (rounded up), or `null` when unknown. */
  readonly wait: number | null;
  /** The full message sent as `detail`. */
  readonly detail: string;

  /**
   * @param wait seconds until a retry may succeed; rounded up. `null`/omitted: no estimate.
   * @param detail replaces the first sentence, `"Request was throttled."`.
   */
  constructor(wait?: number | null, detail?: string) {
    const seconds = wait === undefined || wait === null ? null : Math.ceil(wait);
    const first = detail ?? 'Request was throttled.';
    const message =
      seconds === null ? first : `${first} Expected available in ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`;
    // A refusal is an answer, not a bug: no stack is captured (under attack, refusals are all the server does).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super({ detail: message }, HttpStatus.TOO_MANY_REQUESTS);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.wait = seconds;
    this.detail = message;
  }

  /**
   * The message is the detail sent (`Request was throttled. Expected available in 42 seconds.`), as
   * DRF's `str(exc)`. Nest's default would match a regular expression on the class name at every
   * refusal, for `Throttled Exception`.
   */
  override initMessage(): void {
    this.message = (this.getResponse() as { detail: string }).detail;
  }

  /** DRF's `get_full_details()`. */
  getFullDetails(): { message: string; code: string } {
    return { message: this.detail, code: this.code };
  }
}
