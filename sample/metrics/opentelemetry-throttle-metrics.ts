import { metrics, type Counter, type Histogram, type Meter } from '@opentelemetry/api';
import type { CacheOutageEvent, ThrottleDecisionEvent, ThrottleEventListener } from 'restflow-throttle';

/**
 * The same metrics through the OpenTelemetry API: the app's SDK (a
 * `MeterProvider` with an OTLP or Prometheus exporter) decides where they go;
 * without one, the API's no-op meter makes them free.
 */
export class OpenTelemetryThrottleMetrics implements ThrottleEventListener {
  private readonly decisions: Counter;
  private readonly latency: Histogram;
  private readonly outages: Counter;

  constructor(meter: Meter = metrics.getMeter('restflow-throttle')) {
    this.decisions = meter.createCounter('restflow.throttle.decisions', {
      description: 'Throttle decisions, by scope, outcome and cache.',
    });
    this.latency = meter.createHistogram('restflow.throttle.decision.duration', {
      unit: 'ms',
      description: 'Time to decide, cache included.',
    });
    this.outages = meter.createCounter('restflow.throttle.cache.outages', {
      description: 'Throttle cache outages that began.',
    });
  }

  decision(event: ThrottleDecisionEvent): void {
    const cache = event.cache ?? 'none';
    this.decisions.add(1, {
      'throttle.scope': event.scope ?? 'none',
      'throttle.outcome': event.allowed ? 'allowed' : 'denied',
      'throttle.cache': cache,
    });
    this.latency.record(event.latencyMs, { 'throttle.cache': cache });
  }

  cacheOutage(event: CacheOutageEvent): void {
    if (event.state === 'down') this.outages.add(1, { 'throttle.cache': event.cache });
  }
}
