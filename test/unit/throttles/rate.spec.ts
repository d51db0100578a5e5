import { computeWait, ImproperlyConfiguredError, parseRate, SimpleRateThrottle } from 'restflow-throttle';

describe('parseRate', () => {
  it.each([
    ['5/s', [5, 1]],
    ['5/sec', [5, 1]],
    ['5/second', [5, 1]],
    ['3/min', [3, 60]],
    ['100/hour', [100, 3600]],
    ['1000/day', [1000, 86400]],
    ['0/m', [0, 60]],
    ['10/5m', [10, 300]],
    ['10/5min', [10, 300]],
    ['7/2h', [7, 7200]],
  ])('%s -> %j', (rate, expected) => {
    expect(parseRate(rate)).toEqual(expected);
  });

  it('null is not throttled', () => {
    expect(parseRate(null)).toEqual([null, null]);
  });

  it.each(['5', '5/', 'a/s', '5/y', '-1/s', '5.5/s', '', '/s', '5/0m', 's/5'])(
    '%j is a configuration error naming the rate and scope',
    (rate) => {
      expect(() => parseRate(rate, 'uploads')).toThrow(ImproperlyConfiguredError);
      expect(() => parseRate(rate, 'uploads')).toThrow(`'${rate}'`);
      expect(() => parseRate(rate, 'uploads')).toThrow(`scope 'uploads'`);
    },
  );
});

describe('SimpleRateThrottle.getRate (DRF wording)', () => {
  class NoScope extends SimpleRateThrottle {
    getCacheKey(): string {
      return 'k';
    }
  }
  class Tenant extends SimpleRateThrottle {
    override scope = 'tenant';
    getCacheKey(): string {
      return 'k';
    }
  }
  class Fixed extends SimpleRateThrottle {
    override rate = '4/min';
    getCacheKey(): string {
      return 'k';
    }
  }

  it('needs a scope or a rate', () => {
    expect(() => new NoScope().getRate()).toThrow("You must set either `.scope` or `.rate` for 'NoScope' throttle");
  });

  it('needs a rate for its scope', () => {
    expect(() => new Tenant().getRate()).toThrow("No default throttle rate set for 'tenant' scope");
  });

  it('a fixed rate needs no scope', () => {
    const throttle = new Fixed();
    expect(throttle.numRequests).toBe(4);
    expect(throttle.duration).toBe(60);
  });
});

describe("wait(): DRF's formula", () => {
  it('with no history: the duration shared among the requests available (1/60s -> 30)', () => {
    expect(computeWait({ now: 0, oldest: null, count: 0, numRequests: 1, duration: 60 })).toBe(30);
  });

  it('with history: 3/min at now=100 with [99] -> 19.67', () => {
    const wait = computeWait({ now: 100, oldest: 99, count: 1, numRequests: 3, duration: 60 });
    expect(wait).toBeCloseTo(59 / 3, 10);
    expect(Number(wait?.toFixed(2))).toBe(19.67);
  });

  it('no request available -> null', () => {
    expect(computeWait({ now: 10, oldest: 5, count: 5, numRequests: 3, duration: 60 })).toBeNull();
  });

  it('at the limit: the rest of the oldest entry window', () => {
    expect(computeWait({ now: 30, oldest: 0, count: 3, numRequests: 3, duration: 60 })).toBe(30);
  });
});
