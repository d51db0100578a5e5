import { Controller, Get, Injectable } from '@nestjs/common';
import {
  ManualClock,
  resetThrottles,
  RestflowThrottleModule,
  SimpleRateThrottle,
  Throttle,
  type ThrottleRequest,
} from 'restflow-throttle';
import { CapturingLogger, PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';

/** The rates a customer signed for, behind an async service. */
@Injectable()
class Contracts {
  async rateOf(customer: string): Promise<string | null | undefined> {
    return customer.startsWith('rate:') ? customer.slice('rate:'.length) : customer === 'unlimited' ? null : undefined;
  }
}

/** Per `x-customer`, at the rate its contract says; none: the class's `2/min`. */
@Injectable()
class ContractThrottle extends SimpleRateThrottle {
  override scope = 'contract';
  override rate = '2/min';
  constructor(private readonly contracts: Contracts) {
    super();
  }
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(String(request.headers['x-customer']));
  }
  override getRequestRate(request: ThrottleRequest): Promise<string | null | undefined> {
    return this.contracts.rateOf(String(request.headers['x-customer']));
  }
}

@Controller('r')
class RatesController {
  @Get()
  @Throttle([ContractThrottle])
  get() {
    return { ok: true };
  }
}

describe.each(PLATFORMS)('per-request rates on %s', (platform) => {
  let t: TestApp;
  const logger = new CapturingLogger();
  const clock = new ManualClock();
  beforeAll(async () => {
    t = await startApp(
      platform,
      {
        imports: [RestflowThrottleModule.forRoot({ headers: 'ietf', clock: clock.read })],
        controllers: [RatesController],
        providers: [Contracts, ContractThrottle],
      },
      logger,
    );
  });
  afterAll(() => t.close());
  const as = (customer: string) => t.request('/r', { headers: { 'x-customer': customer } });

  beforeEach(() => resetThrottles(t.app));

  it('picks the rate per request, through an injected async service; undefined falls back to the class rate', async () => {
    const five = [];
    for (let i = 0; i < 6; i++) five.push(await as('rate:5/min'));
    expect(five.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(five[5].headers.get('ratelimit-policy')).toBe('"contract";q=5;w=60');
    expect(five[5].headers.get('retry-after')).toBe('60');
    const fallback = [await as('no-contract'), await as('no-contract'), await as('no-contract')];
    expect(fallback.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(fallback[0].headers.get('ratelimit-policy')).toBe('"contract";q=2;w=60');
  });

  it('null means not throttled: never denied, no cache call, no rate-limit header', async () => {
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      const r = await as('unlimited');
      statuses.push(r.status);
      expect(r.headers.get('ratelimit')).toBeNull();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
  });

  it('a malformed rate fails that request with a 500 that names it, logged once per rate string', async () => {
    const before = logger.errors.length;
    const responses = [await as('rate:lots/day'), await as('rate:lots/day'), await as('rate:5/y')];
    for (const r of responses) {
      expect(r.status).toBe(500);
      expect(r.text).toContain('ContractThrottle.getRequestRate(): Invalid throttle rate');
    }
    expect(responses[0].text).toContain("'lots/day'");
    expect(responses[2].text).toContain("'5/y'");
    const logged = logger.errors.slice(before).filter((m) => m.includes('Invalid throttle rate'));
    expect(logged).toEqual([expect.stringContaining("'lots/day'"), expect.stringContaining("'5/y'")]);
    // Other customers are not affected.
    expect((await as('rate:5/min')).status).toBe(200);
  });
});
