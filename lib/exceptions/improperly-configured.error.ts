/**
 * DRF's `ImproperlyConfigured`: the throttling configuration cannot work.
 * Raised while the application starts (`app.init()` rejects with it), so a
 * missing or malformed rate never silently turns a limit off. Each one
 * carries a stable code from error-codes.ts, documented in docs/errors.md.
 */
import type { ConfigErrorCode } from './error-codes';

/**
 * A configuration that cannot work, with a stable {@link ConfigErrorCode}.
 * As Node's own coded errors do, the stack (what Node prints for an uncaught
 * error, and what Nest logs) begins with the code:
 * `ImproperlyConfiguredError [RFT_MISSING_RATE]: No default throttle rate set for 'x' scope`,
 * while `name` and `message` stay free of it, so code that matched on them keeps working.
 *
 * @example
 * // In a throttle's forRoute(), to refuse a route before the app serves anything:
 * throw new ImproperlyConfiguredError(`${route.name} needs a scope`, 'RFT_ROUTE_REFUSED');
 */
export class ImproperlyConfiguredError extends Error {
  /** What is wrong, stable across releases: match on this, not on the message. */
  readonly code: ConfigErrorCode;

  constructor(message: string, code: ConfigErrorCode) {
    super(message);
    this.code = code;
    // V8 writes the stack's first line (`name: message`) the first time the stack is read, so read it
    // once under the coded name, then give the name back (Node's addCodeToName does the same).
    this.name = `ImproperlyConfiguredError [${code}]`;
    void this.stack;
    this.name = 'ImproperlyConfiguredError';
  }

  /** `ImproperlyConfiguredError [CODE]: message`, as the stack's first line and Node's coded errors read. */
  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }

  /**
   * The same error with another message (say, naming where it was found):
   * same code, and the stack frames of where it was first thrown.
   */
  withMessage(message: string): ImproperlyConfiguredError {
    const error = new ImproperlyConfiguredError(message, this.code);
    const header = (stack: string | undefined, text: string) => (stack ?? '').split('\n').slice(0, lineCount(text));
    const frames = (this.stack ?? '').split('\n').slice(lineCount(this.message));
    error.stack = [...header(error.stack, message), ...frames].join('\n');
    return error;
  }
}

function lineCount(text: string): number {
  return text.split('\n').length;
}
