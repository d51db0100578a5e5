/**
 * The parts of costs and blocks that are plain functions: block durations parsed, a route's weights made at
 * startup (or none, for the usual route), a request's cost checked, and DRF's wait for a cost above the limit.
 */
import { jest } from '@jest/globals';
import { InternalServerErrorException, Logger } from '@nestjs/common';
import { computeWait, ImproperlyConfiguredError } from 'restflow-throttle';
import { parseBlockDuration } from '../../../lib/throttles/block-duration';
import { checkCostLiteral, hitWeights, type WeightSources } from '../../../lib/throttles/request-cost';

describe('parseBlockDuration', () => {
  it.each([
    ['15m', 900],
    ['15min', 900],
    ['15 minutes', 900],
    ['30s', 30],
    ['1h', 3600],
    ['2d', 172800],
    [' 5M ', 300],
    [90, 90],
    [0.5, 0.5],
    [0, 0],
  ])('%p is %p s', (value, seconds) => {
    expect(parseBlockDuration(value, 'x')).toBe(seconds);
  });

  it.each([['15'], ['m'], ['1.5m'], ['-1m'], ['15y'], [''], [-1], [Number.POSITIVE_INFINITY], [null], [{}]])(
    '%p is refused with RFT_INVALID_BLOCK_DURATION, named',
    (value) => {
      let error: unknown;
      try {
        parseBlockDuration(value, 'blockDurations.login');
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(ImproperlyConfiguredError);
      expect((error as ImproperlyConfiguredError).code).toBe('RFT_INVALID_BLOCK_DURATION');
      expect((error as Error).message).toMatch(/^blockDurations\.login must be a duration such as '15m'/);
    },
  );

  it('a block longer than every store can hold is refused', () => {
    expect(() => parseBlockDuration(Number.MAX_SAFE_INTEGER, 'b')).toThrow(/longer than every store can hold/);
  });
});

describe('hitWeights', () => {
  const sources = (over: Partial<WeightSources>): WeightSources => ({
    throttle: 'BulkThrottle',
    route: 'ImportsController.import',
    blockDuration: undefined,
    configuredBlock: undefined,
    cost: undefined,
    limit: 10,
    logger: undefined,
    ...over,
  });

  it('none for cost 1 and no block: the usual route stays as it was', () => {
    expect(hitWeights(sources({}))).toBeUndefined();
    expect(hitWeights(sources({ cost: 1, configuredBlock: 0 }))).toBeUndefined();
  });

  it("the throttle's own block wins over the module's", () => {
    expect(hitWeights(sources({ configuredBlock: 900 }))?.blockSec).toBe(900);
    expect(hitWeights(sources({ configuredBlock: 900, blockDuration: '30s' }))?.blockSec).toBe(30);
    expect(hitWeights(sources({ configuredBlock: 900, blockDuration: 0 }))).toBeUndefined();
  });

  it('a fixed cost above a fixed limit stops the app; up to it, or with a limit per request, it is kept', () => {
    expect(() => hitWeights(sources({ cost: 11 }))).toThrow(
      "@ThrottleCost(11) is more than the 10 requests 'BulkThrottle' allows per window",
    );
    expect(hitWeights(sources({ cost: 10 }))?.cost({} as never, {} as never)).toBe(10);
    expect(hitWeights(sources({ cost: 11, limit: undefined }))?.cost({} as never, {} as never)).toBe(11);
  });

  it("a function's bad answer fails that request (500 with the reason), logged once", async () => {
    const logger = new Logger('test');
    const errors: unknown[] = [];
    jest.spyOn(logger, 'error').mockImplementation((message: unknown) => {
      errors.push(message);
    });
    const weights = hitWeights(
      sources({ cost: (request) => (request as unknown as { n: unknown }).n as number, logger }),
    );
    const cost = (n: unknown) => weights!.cost({ n } as never, {} as never);
    expect(cost(3)).toBe(3);
    expect(cost(0)).toBe(0);
    for (const bad of [Number.NaN, 2.5, -1, '3', undefined]) {
      let error: unknown;
      try {
        cost(bad);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(InternalServerErrorException);
      expect((error as InternalServerErrorException).getResponse()).toEqual({
        detail: expect.stringMatching(
          /^The request cost on ImportsController\.import \(BulkThrottle\) must be a whole number >= 0, got /,
        ),
      });
      expect(((error as Error).cause as ImproperlyConfiguredError).code).toBe('RFT_INVALID_REQUEST_COST');
    }
    expect(errors).toHaveLength(1);
    const asyncWeights = hitWeights(sources({ cost: async () => 4 }));
    await expect(asyncWeights!.cost({} as never, {} as never)).resolves.toBe(4);
    const rejecting = hitWeights(sources({ cost: async () => Number.NaN }));
    await expect(rejecting!.cost({} as never, {} as never)).rejects.toBeInstanceOf(InternalServerErrorException);
  });
});

describe('checkCostLiteral', () => {
  it('takes whole numbers >= 0 and functions', () => {
    const fn = () => 1;
    expect(checkCostLiteral(0, 'h')).toBe(0);
    expect(checkCostLiteral(7, 'h')).toBe(7);
    expect(checkCostLiteral(fn, 'h')).toBe(fn);
    expect(() => checkCostLiteral(2 ** 60, 'h')).toThrow(ImproperlyConfiguredError);
  });
});

describe('computeWait with a cost', () => {
  const state = { now: 100, oldest: 90, count: 10, numRequests: 10, duration: 60 };
  it('a cost above the limit has no wait; one within it has DRF', () => {
    expect(computeWait({ ...state, cost: 11 })).toBeNull();
    expect(computeWait({ ...state, cost: 10 })).toBe(50);
    expect(computeWait(state)).toBe(50);
  });
});
