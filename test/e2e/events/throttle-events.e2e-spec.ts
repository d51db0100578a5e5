import { jest } from '@jest/globals';
import { Controller, Get } from '@nestjs/common';
import { createNoopMeter, type Attributes } from '@opentelemetry/api';
import { createHmac } from 'node:crypto';
import {
  AnonRateThrottle,
  BaseThrottle,
  ManualClock,
  RestflowThrottleModule,
  Throttle,
  ThrottleEvents,
  ThrottleStores,
  type RestflowThrottleOptions,
  type ThrottleDecisionEvent,
} from 'restflow-throttle';
import { OpenTelemetryThrottleMetrics } from '../../../sample/metrics/opentelemetry-throttle-metrics';
import { PrometheusThrottleMetrics } from '../../../sample/metrics/prometheus-throttle-metrics';
import { CapturingLogger, PLATFORMS, startApp, type Platform, type TestApp } from '../../helpers/http-app';

/** A throttle without a rate or a key: denies every request, asks for 3 s. */
class Closed extends BaseThrottle {
  allowRequest(): boolean {
    return false;
  }
  override wait(): number {
    return 3;
  }
}

@Controller('e')
class EventsController {
  @Get('anon')
  @Throttle([AnonRateThrottle])
  anon() {
    return { ok: true };
  }

  @Get('closed')
  @Throttle([Closed])
  closed() {
    return { ok: true };
  }
}

function start(
  platform: Platform,
  options: Partial<RestflowThrottleOptions>,
  logger?: CapturingLogger,
): Promise<TestApp> {
  const clock = new ManualClock(1_000_000);
  return startApp(
    platform,
    {
      imports: [RestflowThrottleModule.forRoot({ rates: { anon: '5/min' }, clock: clock.read, ...options })],
      controllers: [EventsController],
    },
    logger ?? false,
  );
}

async function hit(t: TestApp, path: string, times: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < times; i++) statuses.push((await t.request(path)).status);
  return statuses;
}

describe.each(PLATFORMS)('throttle events on %s', (platform) => {
  it('5 allowed and 2 denied are counted so by the Prometheus and OpenTelemetry recipes', async () => {
    const prometheus = new PrometheusThrottleMetrics();
    const added: Array<[string, number, Attributes]> = [];
    const meter = createNoopMeter();
    meter.createCounter = (name: string) => ({
      add: (value: number, attributes?: Attributes) => void added.push([name, value, attributes ?? {}]),
    });
    const t = await start(platform, { events: [prometheus, new OpenTelemetryThrottleMetrics(meter)] });
    try {
      expect(await hit(t, '/e/anon', 7)).toEqual([200, 200, 200, 200, 200, 429, 429]);
      const counted = await prometheus.registry.getSingleMetric('restflow_throttle_decisions_total')!.get();
      const values = Object.fromEntries(
        counted.values.map((v) => [`${v.labels.scope}/${v.labels.outcome}/${v.labels.cache}`, v.value]),
      );
      expect(values).toEqual({ 'anon/allowed/default': 5, 'anon/denied/default': 2 });
      const latency = await prometheus.registry.getSingleMetric('restflow_throttle_decision_seconds')!.get();
      expect(
        latency.values.find(
          (v) => (v as { metricName?: string }).metricName === 'restflow_throttle_decision_seconds_count',
        )?.value,
      ).toBe(7);

      const decisions = added.filter(([name]) => name === 'restflow.throttle.decisions');
      const outcomes = decisions.map(
        ([, value, attributes]) =>
          `${value} ${String(attributes['throttle.outcome'])} ${String(attributes['throttle.scope'])}`,
      );
      expect(outcomes).toEqual([...Array(5).fill('1 allowed anon'), '1 denied anon', '1 denied anon']);
    } finally {
      await t.close();
    }
  });

  it('an event names scope, key hash, outcome, wait, cache and latency, never the raw key', async () => {
    const events: ThrottleDecisionEvent[] = [];
    const t = await start(platform, {
      events: { decision: (e) => void events.push(e) },
      eventKeySecret: 'metrics-secret',
    });
    try {
      await hit(t, '/e/anon', 6);
      expect(events).toHaveLength(6);
      const expectedHash = createHmac('sha256', 'metrics-secret')
        .update('throttle_anon_ip:127.0.0.1')
        .digest('base64url')
        .slice(0, 22);
      for (const [i, e] of events.entries()) {
        expect(e).toEqual({
          route: 'EventsController.anon',
          throttle: 'AnonRateThrottle',
          scope: 'anon',
          keyHash: expectedHash,
          allowed: i < 5,
          wait: i < 5 ? null : 60,
          cache: 'default',
          algorithm: 'sliding-log',
          limit: 5,
          duration: 60,
          latencyMs: expect.any(Number),
        });
        expect(e.latencyMs).toBeGreaterThanOrEqual(0);
        expect(JSON.stringify(e)).not.toContain('127.0.0.1');
      }
      // A throttle with no rate and no key reports its outcome and wait alone.
      await hit(t, '/e/closed', 1);
      // A route whose only throttle is a plain BaseThrottle is reported too.
      expect(events.slice(6).map((e) => [e.throttle, e.allowed, e.wait])).toEqual([['Closed', false, 3]]);
      expect(events[6]).toMatchObject({
        route: 'EventsController.closed',
        keyHash: null,
        cache: null,
        algorithm: null,
        limit: null,
        duration: null,
      });
    } finally {
      await t.close();
    }
  });

  it('costs nothing without a listener: no event is built and no key is hashed', async () => {
    const keyHash = jest.spyOn(ThrottleEvents.prototype, 'keyHash');
    const decision = jest.spyOn(ThrottleEvents.prototype, 'decision');
    const t = await start(platform, {});
    try {
      expect(await hit(t, '/e/anon', 6)).toEqual([200, 200, 200, 200, 200, 429]);
      expect(keyHash).not.toHaveBeenCalled();
      expect(decision).not.toHaveBeenCalled();
    } finally {
      keyHash.mockRestore();
      decision.mockRestore();
      await t.close();
    }
  });

  it('listeners subscribe and unsubscribe at run time, through the injectable ThrottleStores', async () => {
    const t = await start(platform, {});
    const seen: boolean[] = [];
    try {
      const unsubscribe = t.app.get(ThrottleStores).events.subscribe({ decision: (e) => void seen.push(e.allowed) });
      await hit(t, '/e/anon', 2);
      unsubscribe();
      await hit(t, '/e/anon', 2);
      expect(seen).toEqual([true, true]);
    } finally {
      await t.close();
    }
  });

  it('a listener that throws never fails a request, and is logged once', async () => {
    const logger = new CapturingLogger();
    const t = await start(
      platform,
      {
        events: {
          decision: () => {
            throw new Error('exporter down');
          },
        },
      },
      logger,
    );
    try {
      expect(await hit(t, '/e/anon', 3)).toEqual([200, 200, 200]);
      expect(logger.errors.filter((m) => m.includes('exporter down'))).toHaveLength(1);
    } finally {
      await t.close();
    }
  });
});

describe('events option validation', () => {
  it.each([
    [{ events: {} }, 'events must be an object with a decision() and/or cacheOutage() method.'],
    [{ events: [{ decision: 1 }] }, 'events[0] must be an object with a decision() and/or cacheOutage() method.'],
    [{ eventKeySecret: '' }, 'eventKeySecret must be a non-empty string.'],
  ])('%j is refused', (options, message) => {
    expect(() => RestflowThrottleModule.forRoot(options as RestflowThrottleOptions)).toThrow(
      `RestflowThrottleModule: ${message}`,
    );
  });
});
