/** Rates chosen per request by `getRequestRate()` (a user's plan, a tenant's contract), each string parsed once. */
import { InternalServerErrorException, type ExecutionContext, type Logger } from '@nestjs/common';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import { parseRate, type ParsedRate } from './rate';
import type { ThrottleRequest } from '../identity/throttle-request';

/** What a per-request rate is read from and falls back to: a `SimpleRateThrottle`, described here so this file need not import it. */
export interface RateSource {
  readonly scope?: string;
  readonly rate?: string | null;
  getRequestRate?(
    request: ThrottleRequest,
    context: ExecutionContext,
  ): string | null | undefined | PromiseLike<string | null | undefined>;
  getRate(): string | null;
  parseRate(rate: string | null): ParsedRate;
}

/** Distinct rate strings kept parsed; beyond this the least recently used is parsed again when it comes back. */
export const REQUEST_RATES_KEPT = 1000;
/** Malformed rate strings logged per minute; beyond this one line says how many were left out. */
export const MALFORMED_RATES_LOGGED_PER_MINUTE = 10;

/**
 * Rates picked per request by `getRequestRate()` (a user's plan, a
 * tenant's contract). Each distinct rate string is parsed once and kept in a
 * bounded LRU (a hook whose strings come from the request cannot grow
 * memory); a malformed one fails that request with a 500 that says why,
 * never a silent allow, and is logged at most once per string while it is
 * kept and at most {@link MALFORMED_RATES_LOGGED_PER_MINUTE} times a minute
 * in all (a flood of distinct bad strings cannot flood the logs).
 */
export class RequestRates {
  private readonly parsed = new Map<string, ParsedRate | InternalServerErrorException>();
  private logWindowStart = 0;
  private loggedInWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly logger?: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  rateOf(
    throttle: RateSource,
    request: ThrottleRequest,
    context: ExecutionContext,
  ): ParsedRate | PromiseLike<ParsedRate> {
    const rate = throttle.getRequestRate!(request, context);
    if (typeof rate === 'object' && rate !== null && typeof rate.then === 'function') {
      return Promise.resolve(rate).then((r) => this.parse(throttle, r));
    }
    return this.parse(throttle, rate as string | null | undefined);
  }

  /** How many distinct rate strings are kept (for tests of the bound). */
  get size(): number {
    return this.parsed.size;
  }

  private parse(throttle: RateSource, rate: string | null | undefined): ParsedRate {
    if (rate === null) return [null, null];
    if (rate === undefined) return throttle.parseRate(throttle.rate ? throttle.rate : throttle.getRate());
    let known = this.parsed.get(rate);
    if (known !== undefined) {
      // Most recently used last, so the first key is the one to evict.
      this.parsed.delete(rate);
      this.parsed.set(rate, known);
    } else {
      known = this.parseNew(throttle, rate);
      if (this.parsed.size >= REQUEST_RATES_KEPT) this.parsed.delete(this.parsed.keys().next().value!);
      this.parsed.set(rate, known);
    }
    if (known instanceof InternalServerErrorException) throw known;
    return known;
  }

  private parseNew(throttle: RateSource, rate: unknown): ParsedRate | InternalServerErrorException {
    try {
      return parseRate(rate as string, throttle.scope);
    } catch (error) {
      const name = throttle.constructor.name;
      const reason =
        typeof rate === 'string'
          ? (error as Error).message
          : `getRequestRate() must return a rate string, null or undefined, got ${typeof rate}`;
      const cause = new ImproperlyConfiguredError(`${name}.getRequestRate(): ${reason}`, 'RFT_INVALID_REQUEST_RATE');
      this.log(cause);
      // An HttpException: the request answers 500 with the reason, and Nest does not log it again per request.
      return new InternalServerErrorException({ detail: cause.message }, { cause });
    }
  }

  /** One line per malformed string, at most so many a minute; the rest counted and said in one line. */
  private log(cause: ImproperlyConfiguredError): void {
    const now = this.now();
    if (now - this.logWindowStart >= 60_000) {
      if (this.suppressed > 0) {
        this.logger?.error(
          `${this.suppressed} more malformed getRequestRate() rates were not logged in the last minute.`,
        );
      }
      this.logWindowStart = now;
      this.loggedInWindow = 0;
      this.suppressed = 0;
    }
    if (this.loggedInWindow >= MALFORMED_RATES_LOGGED_PER_MINUTE) {
      this.suppressed++;
      return;
    }
    this.loggedInWindow++;
    this.logger?.error(String(cause)); // with its code, as a stack shows it: alerts can match on it
  }
}
