import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';

/** `[numRequests, durationSeconds]`, or `[null, null]` for a `null` rate (not throttled). */
export type ParsedRate = [number, number] | [null, null];

const PERIOD_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

// "N/period": N a non-negative integer, period an optional positive integer
// multiplier (our extension: "10/5m") then a word starting with s, m, h or d.
const RATE = /^(\d+)\/(\d*)([smhd])[a-z]*$/i;

/**
 * Parses a DRF rate string such as `100/hour`, `5/sec` or (beyond DRF)
 * `10/5m` = 10 per 300 s. Anything else is a configuration error naming the
 * rate and, when known, the scope.
 */
export function parseRate(rate: string | null | undefined, scope?: string): ParsedRate {
  if (rate === null || rate === undefined) return [null, null];
  const where = scope === undefined ? '' : ` for scope '${scope}'`;
  const match = typeof rate === 'string' ? RATE.exec(rate.trim()) : null;
  if (match === null) {
    throw new ImproperlyConfiguredError(
      `Invalid throttle rate '${String(rate)}'${where}: expected "<requests>/<period>" such as "100/hour", "5/s" or "10/5m", with a whole number of requests and a period of s, m, h or d.`,
    );
  }
  const numRequests = Number(match[1]);
  const multiplier = match[2] === '' ? 1 : Number(match[2]);
  if (!Number.isSafeInteger(numRequests) || !Number.isSafeInteger(multiplier) || multiplier < 1) {
    throw new ImproperlyConfiguredError(
      `Invalid throttle rate '${rate}'${where}: the request count and the period multiplier must be whole numbers, the multiplier at least 1.`,
    );
  }
  return [numRequests, multiplier * PERIOD_SECONDS[match[3].toLowerCase()]];
}
