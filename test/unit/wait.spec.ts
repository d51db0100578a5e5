import { computeWait } from 'restflow-throttle';

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
