/**
 * Rates within what every store can hold (issue 24, item 7): a period
 * longer than the stores' expiries can express is refused wherever a rate
 * is parsed, with RFT_RATE_OUT_OF_RANGE naming the rate and the scope: by
 * parseRate(), at startup for `rates`, and per request for getRequestRate()
 * (the bounded 500 path of malformed per-request rates).
 */
import { InternalServerErrorException, type ExecutionContext } from '@nestjs/common';
import {
  ImproperlyConfiguredError,
  parseRate,
  RestflowThrottleModule,
  SimpleRateThrottle,
  type ThrottleRequest,
} from 'restflow-throttle';
import { MAX_RATE_DURATION_SECONDS } from '../../../lib/throttles/rate';
import { RequestRates } from '../../../lib/throttles/request-rates';

function refusal(run: () => unknown): ImproperlyConfiguredError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ImproperlyConfiguredError);
    return error as ImproperlyConfiguredError;
  }
  throw new Error('expected an ImproperlyConfiguredError, nothing was thrown');
}

describe('parseRate', () => {
  it("refuses '1/1100000000d', naming the rate, the scope and the bound, with RFT_RATE_OUT_OF_RANGE", () => {
    const error = refusal(() => parseRate('1/1100000000d', 'anon'));
    expect(error.code).toBe('RFT_RATE_OUT_OF_RANGE');
    expect(error.message).toBe(
      "Throttle rate '1/1100000000d' for scope 'anon' is out of range: its period is 95040000000000 s, and the " +
        'longest every store can hold is 4503599627370 s (about 142 000 years).',
    );
  });

  it('holds twice the longest period in ms as a safe integer, below the 1e17 Redis refuses from Lua', () => {
    expect(Number.isSafeInteger(MAX_RATE_DURATION_SECONDS * 2000)).toBe(true);
    expect(Number.isSafeInteger((MAX_RATE_DURATION_SECONDS + 1) * 2000)).toBe(false);
    expect(MAX_RATE_DURATION_SECONDS * 2000).toBeLessThan(1e17);
  });

  it.each([
    [`1/${MAX_RATE_DURATION_SECONDS}s`, [1, MAX_RATE_DURATION_SECONDS]],
    ['1/52124995d', [1, 52124995 * 86400]],
    ['9007199254740991/1s', [9007199254740991, 1]],
  ])('accepts %s, within the bound', (rate, expected) => {
    expect(parseRate(rate)).toEqual(expected);
  });

  it.each([`1/${MAX_RATE_DURATION_SECONDS + 1}s`, '1/52124996d', '1/1250999897h', '5/9007199254740991d'])(
    'refuses %s, just past it',
    (rate) => {
      expect(refusal(() => parseRate(rate)).code).toBe('RFT_RATE_OUT_OF_RANGE');
    },
  );
});

it('forRoot() refuses such a rate in `rates` at startup', () => {
  const error = refusal(() => RestflowThrottleModule.forRoot({ rates: { anon: '1/1100000000d' } }));
  expect(error.code).toBe('RFT_RATE_OUT_OF_RANGE');
  expect(error.message).toContain("'1/1100000000d' for scope 'anon'");
});

describe('per request', () => {
  class PlanThrottle extends SimpleRateThrottle {
    override scope = 'plan';
    override rate = '5/min';
    getCacheKey(): string {
      return 'k';
    }
    override getRequestRate(request: ThrottleRequest): string {
      return String(request.headers?.['x-plan']);
    }
  }

  it('a getRequestRate() rate out of range fails that request with a 500 saying why, as malformed ones do', () => {
    const errors: string[] = [];
    const rates = new RequestRates({ error: (line: string) => errors.push(line) } as never);
    const throttle = new PlanThrottle();
    const request = (plan: string) => ({ headers: { 'x-plan': plan } }) as unknown as ThrottleRequest;
    const context = {} as ExecutionContext;
    let thrown: unknown;
    try {
      rates.rateOf(throttle, request('1/1100000000d'), context);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InternalServerErrorException);
    const cause = (thrown as InternalServerErrorException).cause as ImproperlyConfiguredError;
    expect(cause.code).toBe('RFT_INVALID_REQUEST_RATE');
    expect(cause.message).toContain(
      "PlanThrottle.getRequestRate(): Throttle rate '1/1100000000d' for scope 'plan' is out of range",
    );
    expect(errors).toHaveLength(1);
    // The request's own trouble only: another plan is parsed as usual.
    expect(rates.rateOf(throttle, request('10/day'), context)).toEqual([10, 86400]);
  });
});
