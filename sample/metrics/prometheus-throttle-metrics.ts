import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CacheOutageEvent, ThrottleDecisionEvent, ThrottleEventListener } from 'restflow-throttle';

/**
 * The throttles' decisions and cache outages as Prometheus metrics. Labels
 * are low-cardinality on purpose (scope, outcome, cache): the key hash of an
 * event identifies a client and belongs in logs, never in a label.
 */
@Injectable()
export class PrometheusThrottleMetrics implements ThrottleEventListener {
  /** Its own registry, so that two apps in one process (tests) do not share counters. */
  readonly registry = new Registry();

  private readonly decisions = new Counter({
    name: 'restflow_throttle_decisions_total',
    help: 'Throttle decisions, by scope, outcome and cache.',
    labelNames: ['scope', 'outcome', 'cache'] as const,
    registers: [this.registry],
  });

  private readonly latency = new Histogram({
    name: 'restflow_throttle_decision_seconds',
    help: 'Time from the start of a route throttling to its decisions, cache round trip included.',
    labelNames: ['cache'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  private readonly outages = new Counter({
    name: 'restflow_throttle_cache_outages_total',
    help: 'Throttle cache outages that began.',
    labelNames: ['cache'] as const,
    registers: [this.registry],
  });

  private readonly cacheUp = new Gauge({
    name: 'restflow_throttle_cache_up',
    help: '1 while the throttle cache answers, 0 during an outage.',
    labelNames: ['cache'] as const,
    registers: [this.registry],
  });

  decision(event: ThrottleDecisionEvent): void {
    const cache = event.cache ?? 'none';
    this.decisions.inc({ scope: event.scope ?? 'none', outcome: event.allowed ? 'allowed' : 'denied', cache });
    this.latency.observe({ cache }, event.latencyMs / 1000);
  }

  cacheOutage(event: CacheOutageEvent): void {
    if (event.state === 'down') this.outages.inc({ cache: event.cache });
    this.cacheUp.set({ cache: event.cache }, event.state === 'up' ? 1 : 0);
  }
}
