import { Controller, Get } from '@nestjs/common';
import {
  AnonRateThrottle,
  ManualClock,
  MemoryThrottleStore,
  resetThrottles,
  RestflowThrottleModule,
  SimpleRateThrottle,
  Throttle,
  type HitResult,
  type ThrottleRequest,
  type ThrottleStore,
} from 'restflow-throttle';
import { PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';

/** Counts in the cache aliased `reports`. */
class Reports extends SimpleRateThrottle {
  override scope = 'reports';
  override cache = 'reports';
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(this.getIdent(request));
  }
}

@Controller('th')
class HelpersController {
  @Get('anon') @Throttle([AnonRateThrottle]) anon() {
    return 'ok';
  }
  @Get('reports') @Throttle([Reports]) reports() {
    return 'ok';
  }
}

/** A store that cannot forget (no reset()). */
class Forgetful implements ThrottleStore {
  readonly ownClock = false;
  hit(_key: string, _limit: number, _durationSec: number, now: number | undefined): HitResult {
    return { allowed: true, now: now ?? 0, count: 1, oldest: now ?? 0 };
  }
}

async function statuses(t: TestApp, path: string, n: number): Promise<number[]> {
  const result = [];
  for (let i = 0; i < n; i++) result.push((await t.request(path)).status);
  return result;
}

describe.each(PLATFORMS)('testing helpers on %s', (platform) => {
  it('resetThrottles(app) empties every store in use (the default and the aliases); ManualClock moves time', async () => {
    const clock = new ManualClock();
    const t = await startApp(platform, {
      imports: [
        RestflowThrottleModule.forRoot({
          rates: { anon: '2/min', reports: '1/hour' },
          caches: { reports: new MemoryThrottleStore() },
          clock: clock.read,
        }),
      ],
      controllers: [HelpersController],
    });
    try {
      expect(await statuses(t, '/th/anon', 3)).toEqual([200, 200, 429]);
      expect(await statuses(t, '/th/reports', 2)).toEqual([200, 429]);
      await resetThrottles(t.app);
      expect(await statuses(t, '/th/anon', 3)).toEqual([200, 200, 429]);
      expect(await statuses(t, '/th/reports', 2)).toEqual([200, 429]);
      clock.advance(59);
      expect(await statuses(t, '/th/anon', 1)).toEqual([429]);
      clock.advance(1);
      expect(await statuses(t, '/th/anon', 3)).toEqual([200, 200, 429]);
      clock.advance(3600);
      expect(await statuses(t, '/th/reports', 1)).toEqual([200]);
    } finally {
      await t.close();
    }
  });

  it('resetThrottles(app) rejects, naming the cache, when a store cannot be reset', async () => {
    const t = await startApp(platform, {
      imports: [
        RestflowThrottleModule.forRoot({
          rates: { anon: '2/min', reports: '1/hour' },
          caches: { reports: new Forgetful() },
        }),
      ],
      controllers: [HelpersController],
    });
    try {
      await expect(resetThrottles(t.app)).rejects.toThrow(
        "Cannot reset the throttle counts: the store of cache 'reports' (Forgetful) has no reset().",
      );
    } finally {
      await t.close();
    }
  });
});

describe('ManualClock', () => {
  it('reads, advances (both ways, as a wall clock may jump) and sets seconds', () => {
    const clock = new ManualClock(100);
    const read = clock.read;
    clock.advance(2.5);
    expect(read()).toBe(102.5);
    clock.advance(-0.5);
    expect(clock.now()).toBe(102);
    clock.set(7);
    expect(read()).toBe(7);
  });

  it('starts at the wall time by default', () => {
    const before = Date.now() / 1000;
    const now = new ManualClock().now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now() / 1000);
  });

  it.each([NaN, Infinity, '5' as unknown as number])('refuses %p', (bad) => {
    expect(() => new ManualClock(bad)).toThrow('ManualClock start takes a finite number of seconds');
    expect(() => new ManualClock(0).advance(bad)).toThrow('ManualClock advance() takes a finite number of seconds');
  });
});
