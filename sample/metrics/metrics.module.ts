import { Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ThrottleStores } from 'restflow-throttle';
import { MetricsController } from './metrics.controller';
import { PrometheusThrottleMetrics } from './prometheus-throttle-metrics';

/**
 * Throttle metrics for Prometheus at `GET /metrics`. The listener subscribes
 * to the module's events when the app starts; an app that builds its
 * throttling options in `forRootAsync` can pass it as `events` instead
 * (docs/metrics.md).
 */
@Module({
  providers: [PrometheusThrottleMetrics],
  controllers: [MetricsController],
  exports: [PrometheusThrottleMetrics],
})
export class MetricsModule implements OnModuleInit, OnModuleDestroy {
  private unsubscribe?: () => void;

  constructor(
    private readonly stores: ThrottleStores,
    private readonly metrics: PrometheusThrottleMetrics,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.stores.events.subscribe(this.metrics);
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }
}
