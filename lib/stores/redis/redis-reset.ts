/** Deletes a test's throttle keys from Redis (SCAN and UNLINK, never KEYS), for `resetThrottles()`. */
import { ImproperlyConfiguredError } from '../../exceptions/improperly-configured.error';
import type { RedisConnection } from './redis-connection';

/** Keys deleted per UNLINK, and asked for per SCAN step. */
const BATCH = 1000;

/**
 * Deletes the keys matching glob patterns (a test's `resetThrottles()`), with
 * SCAN so a large database is walked in steps, never with KEYS. The patterns
 * come from the cache formats of the throttles using this store, so the app's
 * other keys are left alone. A Cluster spreads keys over masters that one
 * connection cannot walk: reset it by flushing the test database instead.
 */
export async function deleteMatching(connection: RedisConnection, patterns: readonly string[]): Promise<void> {
  if (connection.cluster) {
    throw new ImproperlyConfiguredError(
      'Resetting throttle counts is not supported on a Redis Cluster; flush the test cluster instead.',
      'RFT_RESET_UNSUPPORTED',
    );
  }
  for (const pattern of patterns) {
    let cursor = '0';
    do {
      const [reply] = await connection.send([['SCAN', cursor, 'MATCH', pattern, 'COUNT', String(BATCH)]]);
      if (reply instanceof Error) throw reply;
      const [next, keys] = reply as [string | Buffer, Array<string | Buffer>];
      cursor = String(next);
      for (let i = 0; i < keys.length; i += BATCH) {
        const [deleted] = await connection.send([['UNLINK', ...keys.slice(i, i + BATCH).map(String)]]);
        if (deleted instanceof Error) throw deleted;
      }
    } while (cursor !== '0');
  }
}
