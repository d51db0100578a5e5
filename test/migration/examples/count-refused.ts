import { Module } from '@nestjs/common';
import { RestflowThrottleModule } from 'restflow-throttle';
import { LongRateThrottle, ShortRateThrottle } from './named-throttlers';

// ThrottlerModule.forRoot([{ name: 'short', ttl: 1000, limit: 3 }, { name: 'long', ttl: 60000, limit: 100 }]):
// a request refused by one throttler is counted by none.
@Module({
  imports: [
    RestflowThrottleModule.forRoot({
      defaultThrottles: [ShortRateThrottle, LongRateThrottle],
      rates: { short: '3/s', long: '100/min' },
      countRefused: false,
    }),
  ],
})
export class AppModule {}
