import { Controller, Get, Header } from '@nestjs/common';
import { SkipThrottle } from 'restflow-throttle';
import { PrometheusThrottleMetrics } from './prometheus-throttle-metrics';

/** `GET /metrics`, for Prometheus to scrape; never throttled itself. */
@Controller('metrics')
@SkipThrottle()
export class MetricsController {
  constructor(private readonly metrics: PrometheusThrottleMetrics) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
