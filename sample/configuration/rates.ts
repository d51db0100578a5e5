/**
 * DRF's `DEFAULT_THROTTLE_RATES` for the sample. The scopes are the docs';
 * `anon` and `user` are per minute instead of per hour so that a few `curl`s
 * show a 429 (`anon` at 3/min: the 4th anonymous request is throttled).
 * Every scope a route can reach must be here, or the app refuses to start.
 */
export const SAMPLE_RATES = {
  anon: '3/min', // docs: 100/hour
  user: '10/min', // docs: 1000/hour
  uploads: '10/min',
  downloads: '100/hour',
  list: '1000/hour',
  destroy: '20/hour',
  exports: '5/min',
  tenant: '5/min',
  api_key: '5/min',
  isolated: '5/min',
  imports: '100/hour', // items an hour: each bulk call costs its items (@ThrottleCost)
  verify: '3/10m', // then blocked for an hour (SAMPLE_BLOCK_DURATIONS)
  login: '5/15m', // failed attempts per account and address (FailedAttemptsThrottle)
} as const satisfies Record<string, string | null>;

/** Beyond DRF: how long a client refused in a scope stays refused (the module's `blockDurations`). */
export const SAMPLE_BLOCK_DURATIONS = { verify: '1h' };
