import { InternalServerErrorException, type ExecutionContext, type Logger } from '@nestjs/common';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import { parseRate, type ParsedRate } from './rate';
import type { ThrottleRequest } from '../identity/throttle-request';

/** What a per-request rate is read from and falls back to: a `SimpleRateThrottle`, described here so this file need not import it. */
export interface RateSource {
  readonly scope?: string;
  readonly rate?: string | null;
  getRequestRate?(request: ThrottleRequest, context: ExecutionContext): string | null | undefined | PromiseLike<string | null | undefined>;
  getRate(): string | null;
  parseRate(rate: string | null): ParsedRate;
}

/**
 * Rates picked per request by `getRequestRate()` (a user's plan, a
 * tenant's contract). Each distinct rate string is parsed once; a malformed
 * one fails that request with a 500 that says why (logged once per string,
 * not once per request), never a silent allow.
 */
export class RequestRates {
  private readonly parsed = new Map<string, ParsedRate | InternalServerErrorException>();

  constructor(private readonly logger?: Logger) {}

  rateOf(throttle: RateSource, request: ThrottleRequest, context: ExecutionContext): ParsedRate | PromiseLike<ParsedRate> {
    const rate = throttle.getRequestRate!(request, context);
    if (typeof rate === 'object' && rate !== null && typeof rate.then === 'function') {
      return Promise.resolve(rate).then((r) => this.parse(throttle, r));
    }
    return this.parse(throttle, rate as string | null | undefined);
  }

  private parse(throttle: RateSource, rate: string | null | undefined): ParsedRate {
    if (rate === null) return [null, null];
    if (rate === undefined) return throttle.parseRate(throttle.rate ? throttle.rate : throttle.getRate());
    let known = this.parsed.get(rate);
    if (known === undefined) {
      try {
        known = parseRate(rate, throttle.scope);
      } catch (error) {
        const name = throttle.constructor.name;
        const reason = typeof rate === 'string' ? (error as Error).message : `getRequestRate() must return a rate string, null or undefined, got ${typeof rate}`;
        const cause = new ImproperlyConfiguredError(`${name}.getRequestRate(): ${reason}`, 'RFT_INVALID_REQUEST_RATE');
        this.logger?.error(String(cause)); // with its code, as a stack shows it: alerts can match on it
        // An HttpException: the request answers 500 with the reason, and Nest does not log it again per request.
        known = new InternalServerErrorException({ detail: cause.message }, { cause });
      }
      this.parsed.set(rate, known);
    }
    if (known instanceof InternalServerErrorException) throw known;
    return known;
  }
}
