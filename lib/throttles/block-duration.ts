/**
 * `blockDuration`: how long a client refused by a rate throttle stays refused. Parsed once at startup, from a
 * throttle's own `blockDuration` or the module's `blockDurations[scope]`; a malformed one stops the app.
 */
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import { MAX_RATE_DURATION_SECONDS } from './rate';

/** A block: seconds (`900`), or a count and a unit as in rates (`'15m'`, `'15min'`, `'30s'`, `'1h'`, `'2d'`). */
export type BlockDuration = number | string;

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

// The period grammar of rates ("5/15min"), without the count: a whole number, then a word starting s, m, h or d.
const DURATION = /^(\d+)\s*([smhd])[a-z]*$/i;

/**
 * Seconds of a block: `0` for none. `where` names it in the error (`"blockDurations.login"`,
 * `"LoginThrottle.blockDuration"`), which says what is accepted.
 */
export function parseBlockDuration(value: unknown, where: string): number {
  let seconds: number | undefined;
  if (typeof value === 'number') seconds = value;
  else if (typeof value === 'string') {
    const match = DURATION.exec(value.trim());
    if (match !== null) seconds = Number(match[1]) * UNIT_SECONDS[match[2].toLowerCase()];
  }
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
    throw new ImproperlyConfiguredError(
      `${where} must be a duration such as '15m', '30s', '1h' or '2d', or a number of seconds >= 0; got ` +
        `${JSON.stringify(value) ?? String(value)}.`,
      'RFT_INVALID_BLOCK_DURATION',
    );
  }
  if (seconds > MAX_RATE_DURATION_SECONDS) {
    throw new ImproperlyConfiguredError(
      `${where} is ${seconds} s, longer than every store can hold (${MAX_RATE_DURATION_SECONDS} s).`,
      'RFT_INVALID_BLOCK_DURATION',
    );
  }
  return seconds;
}
