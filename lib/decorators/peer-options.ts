/**
 * `@nestjs/throttler`'s decorator forms left in an app that moved here
 * (`@Throttle({ default: { limit, ttl } })`, `@SkipThrottle({ short: true })`).
 * A build that does not type-check (SWC, transpile-only) lets them through;
 * they are kept as what they are and refused when the app starts, naming the
 * handler and saying what to write instead, never a silent skip.
 */

/** What a decorator was given in `@nestjs/throttler`'s form, kept for the startup check. */
export class PeerOptions {
  constructor(
    /** `'@Throttle'` or `'@SkipThrottle'`. */
    readonly decorator: '@Throttle' | '@SkipThrottle',
    readonly options: unknown,
  ) {}

  /** What to write instead, for the startup error. */
  advice(): string {
    if (this.decorator === '@SkipThrottle') {
      return (
        "@SkipThrottle() takes no options here and skips every throttle of the handler; @nestjs/throttler's " +
        '@SkipThrottle({ name: true }) skips only some. List the throttles that stay instead: @Throttle([...]).'
      );
    }
    const rates = Object.entries(typeof this.options === 'object' && this.options !== null ? this.options : {})
      .map(([name, value]) => {
        const { limit, ttl } = (typeof value === 'object' && value !== null ? value : {}) as {
          limit?: unknown;
          ttl?: unknown;
        };
        return typeof limit === 'number' && typeof ttl === 'number'
          ? `${name}: '${limit}/${Math.max(1, Math.round(ttl / 1000))}s'`
          : undefined;
      })
      .filter((rate) => rate !== undefined);
    const example = rates.length > 0 ? ` (here: rates: { ${rates.join(', ')} })` : '';
    return (
      '@Throttle() takes throttle classes here, e.g. @Throttle([ScopedRateThrottle]) with @ThrottleScope(...), and the ' +
      `rates live in forRoot({ rates })${example}; see docs/migrating-from-nestjs-throttler.md.`
    );
  }
}
