/** Helpers for an app's own tests: a clock moved by hand, and a reset of every throttle count. */
import type { INestApplicationContext } from '@nestjs/common';
import { ThrottleStores } from './module/caches';

/**
 * A clock an app's tests move by hand. Give `clock.read` as the module's
 * `clock` option: every throttle reads it (on Redis too, where it wins over
 * the server's time), so windows expire without sleeping and waits are exact.
 *
 * ```ts
 * const clock = new ManualClock();
 * RestflowThrottleModule.forRoot({ rates: { anon: '3/min' }, clock: clock.read });
 * clock.advance(60); // a minute later
 * ```
 */
export class ManualClock {
  private seconds: number;

  /** Starts at `start` seconds (default: now, so Redis keys expire as they would in production). */
  constructor(start: number = Date.now() / 1000) {
    ManualClock.check(start, 'start');
    this.seconds = start;
  }

  /** The current time in seconds; a bound function, ready for the `clock` option. */
  readonly read = (): number => this.seconds;

  /** The current time in seconds. */
  now(): number {
    return this.seconds;
  }

  /** Moves the clock forward (or back, with a negative number, as a wall clock may jump). */
  advance(seconds: number): void {
    ManualClock.check(seconds, 'advance()');
    this.seconds += seconds;
  }

  /** Sets the time, in seconds. */
  set(seconds: number): void {
    ManualClock.check(seconds, 'set()');
    this.seconds = seconds;
  }

  private static check(seconds: number, what: string): void {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds))
      throw new TypeError(`ManualClock ${what} takes a finite number of seconds, got ${String(seconds)}.`);
  }
}

/**
 * Forgets every count of every throttle cache of an app (the default one and
 * the `caches` aliases in use; memory or Redis), so that each test starts
 * from zero: `beforeEach(() => resetThrottles(app))`. Rejects, naming the
 * cache, when a store cannot be reset, rather than leave counts behind.
 */
export async function resetThrottles(app: INestApplicationContext): Promise<void> {
  await app.get(ThrottleStores, { strict: false }).reset();
}
