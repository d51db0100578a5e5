import { Module } from '@nestjs/common';
import { RestflowThrottleModule, UserRateThrottle } from 'restflow-throttle';

// ThrottlerModule.forRoot([{ name: 'short', ttl: 1000, limit: 3 }, { name: 'long', ttl: 60000, limit: 100 }])
export class ShortRateThrottle extends UserRateThrottle {
  override scope = 'short';
}
export class LongRateThrottle extends UserRateThrottle {
  override scope = 'long';
}

@Module({
  imports: [
    RestflowThrottleModule.forRoot({
      defaultThrottles: [ShortRateThrottle, LongRateThrottle],
      rates: { short: '3/s', long: '100/min' },
    }),
  ],
})
export class AppModule {}
