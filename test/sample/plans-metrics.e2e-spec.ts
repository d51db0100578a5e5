/** The sample's per-request rates (sample/plans) and metrics (sample/metrics), through the sample app itself. */
import { ThrottleStores, type ThrottleDecisionEvent } from 'restflow-throttle';
import { PLATFORMS } from '../helpers/http-app';
import { expectThrottled, signedIn, statuses, useSample } from '../helpers/sample-app';

describe.each(PLATFORMS)('sample per-plan rates and metrics on %s', (platform) => {
  const t = useSample(platform);
  let events: ThrottleDecisionEvent[] = [];
  let unsubscribe: () => void = () => undefined;
  beforeEach(() => {
    events = [];
    unsubscribe = t.app.get(ThrottleStores).events.subscribe({ decision: (e) => void events.push(e) });
  });
  afterEach(() => unsubscribe());
  const limits = () => [...new Set(events.map((e) => `${e.scope} ${e.limit}/${e.duration}`))];

  it('a free user gets 100/hour', async () => {
    expect(await statuses(t, 100, '/plans/reports', signedIn('dave'))).toEqual(Array(100).fill(200));
    expectThrottled(await t.request('/plans/reports', signedIn('dave')), 3600);
    expect(limits()).toEqual(['plan 100/3600']);
  });

  it('a pro user gets 10000/hour, read from the injected plans service', async () => {
    expect(await statuses(t, 101, '/plans/reports', signedIn('alice'))).toEqual(Array(101).fill(200));
    expect(limits()).toEqual(['plan 10000/3600']);
  });

  it('an internal user is not throttled (rate null): no decision at all', async () => {
    expect(await statuses(t, 101, '/plans/reports', signedIn('carol'))).toEqual(Array(101).fill(200));
    expect(events).toEqual([]);
  });

  it("anonymous clients get the class's rate, the free plan's", async () => {
    await statuses(t, 2, '/plans/reports');
    expect(limits()).toEqual(['plan 100/3600']);
  });

  it("a tenant is held to its contract's rate; no tenant, no throttling", async () => {
    expect(await statuses(t, 20, '/plans/exports', signedIn('carol'))).toEqual(Array(20).fill(200)); // globex: 20/min
    expectThrottled(await t.request('/plans/exports', signedIn('carol')), 60);
    await t.request('/plans/exports', signedIn('alice')); // acme: 1000/day
    expect(limits()).toEqual(['contract 20/60', 'contract 1000/86400']);
    events = [];
    expect(await statuses(t, 30, '/plans/exports', signedIn('dave'))).toEqual(Array(30).fill(200));
    expect(events).toEqual([]);
  });

  it('GET /metrics counts the decisions in Prometheus text format', async () => {
    const counter = async (outcome: string): Promise<number> => {
      const text = (await t.request('/metrics')).text;
      const match = new RegExp(
        `^restflow_throttle_decisions_total\\{scope="contract",outcome="${outcome}",cache="default"\\} (\\d+)$`,
        'm',
      ).exec(text);
      return match === null ? 0 : Number(match[1]);
    };
    const [allowed, denied] = [await counter('allowed'), await counter('denied')];
    expect(await statuses(t, 22, '/plans/exports', signedIn('carol'))).toEqual([...Array(20).fill(200), 429, 429]);
    expect([(await counter('allowed')) - allowed, (await counter('denied')) - denied]).toEqual([20, 2]);
    const scrape = await t.request('/metrics');
    expect(scrape.headers.get('content-type')).toContain('text/plain');
  });
});
