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
    const entries = Object.entries(typeof this.options === 'object' && this.options !== null ? this.options : {});
    const rates: string[] = [];
    const blocks: string[] = [];
    for (const [name, value] of entries) {
      const { limit, ttl, blockDuration } = (typeof value === 'object' && value !== null ? value : {}) as {
        limit?: unknown;
        ttl?: unknown;
        blockDuration?: unknown;
      };
      if (typeof limit === 'number' && typeof ttl === 'number') {
        rates.push(`${name}: '${limit}/${Math.max(1, Math.round(ttl / 1000))}s'`);
      }
      if (typeof blockDuration === 'number')
        blocks.push(`${name}: '${Math.max(1, Math.round(blockDuration / 1000))}s'`);
    }
    const blocked = blocks.length > 0 ? `, blockDurations: { ${blocks.join(', ')} }` : '';
    const example = rates.length > 0 ? ` (here: rates: { ${rates.join(', ')} }${blocked})` : '';
    return (
      '@Throttle() takes throttle classes here, e.g. @Throttle([ScopedRateThrottle]) with ' +
      '@ThrottleScope(...), and the ' +
      `rates live in forRoot({ rates })${example}; see docs/migrating-from-nestjs-throttler.md.`
    );
  }
}
