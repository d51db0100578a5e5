import { Module } from '@nestjs/common';
import { RestflowThrottleModule, ScopedRateThrottle, UserRateThrottle } from 'restflow-throttle';

// ThrottlerModule.forRoot([{ ttl: 60000, limit: 100 }]): 100 a minute per route and client.
export class PerRouteUserThrottle extends UserRateThrottle {
  override cacheFormat = 'throttle_{scope}_{route}_{ident}';
}

// @Throttle({ default: { limit: 2, ttl: 10000 } }) on a controller: 2 per 10 s on each of its routes,
// with @Throttle([PerRouteScopedThrottle]) @ThrottleScope('reports') and rates.reports: '2/10s'.
export class PerRouteScopedThrottle extends ScopedRateThrottle {
  override cacheFormat = 'throttle_{scope}_{route}_{ident}';
}

@Module({
  imports: [
    RestflowThrottleModule.forRoot({
      defaultThrottles: [PerRouteUserThrottle],
      rates: { user: '100/min' },
    }),
  ],
})
export class AppModule {}
