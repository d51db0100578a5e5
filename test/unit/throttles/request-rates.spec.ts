/**
 * Per-request rates are bounded: a `getRequestRate()` whose strings come from
 * the request (a header, a tenant field) cannot grow memory or flood the logs.
 */
import { InternalServerErrorException, type ExecutionContext, type Logger } from '@nestjs/common';
import {
  MALFORMED_RATES_LOGGED_PER_MINUTE,
  REQUEST_RATES_KEPT,
  RequestRates,
  type RateSource,
} from '../../../lib/throttles/request-rates';

const context = {} as ExecutionContext;

function source(rateFor: (request: { rate: string }) => string): RateSource {
  return {
    scope: 'plan',
    rate: '1/min',
    getRequestRate: (request) => rateFor(request as unknown as { rate: string }),
    getRate: () => '1/min',
    parseRate: () => [1, 60],
  };
}

function capture() {
  const errors: string[] = [];
  return { errors, logger: { error: (message: unknown) => errors.push(String(message)) } as unknown as Logger };
}

describe('RequestRates bounds', () => {
  it(`keeps at most ${REQUEST_RATES_KEPT} distinct rate strings, least recently used out first`, () => {
    const rates = new RequestRates();
    const throttle = source((r) => r.rate);
    for (let i = 1; i <= 5 * REQUEST_RATES_KEPT; i++)
      expect(rates.rateOf(throttle, { rate: `${i}/min` } as never, context)).toEqual([i, 60]);
    expect(rates.size).toBe(REQUEST_RATES_KEPT);
  });

  it('a flood of distinct malformed strings: each request refused with a 500, the log bounded per minute', () => {
    let now = 0;
    const { errors, logger } = capture();
    const rates = new RequestRates(logger, () => now);
    const throttle = source((r) => r.rate);
    for (let i = 0; i < 1500; i++) {
      expect(() => rates.rateOf(throttle, { rate: `bad-${i}` } as never, context)).toThrow(
        InternalServerErrorException,
      );
    }
    expect(errors).toHaveLength(MALFORMED_RATES_LOGGED_PER_MINUTE);
    expect(errors[0]).toMatch(/RFT_INVALID_REQUEST_RATE/);
    expect(rates.size).toBeLessThanOrEqual(REQUEST_RATES_KEPT);
    now += 60_000;
    expect(() => rates.rateOf(throttle, { rate: 'bad-next' } as never, context)).toThrow(InternalServerErrorException);
    expect(errors[MALFORMED_RATES_LOGGED_PER_MINUTE]).toBe(
      `${1500 - MALFORMED_RATES_LOGGED_PER_MINUTE} more malformed getRequestRate() rates were not logged in the last minute.`,
    );
    expect(errors).toHaveLength(MALFORMED_RATES_LOGGED_PER_MINUTE + 2);
  });

  it('one malformed string asked again and again is logged once while it is kept', () => {
    const { errors, logger } = capture();
    const rates = new RequestRates(logger);
    const throttle = source(() => '5/fortnight');
    for (let i = 0; i < 100; i++)
      expect(() => rates.rateOf(throttle, {} as never, context)).toThrow(InternalServerErrorException);
    expect(errors).toHaveLength(1);
  });
});
