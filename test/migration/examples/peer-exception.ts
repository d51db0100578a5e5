import { HttpException, HttpStatus, Module } from '@nestjs/common';
import { RestflowThrottleModule, UserRateThrottle } from 'restflow-throttle';

/** @nestjs/throttler's 429: {"statusCode":429,"message":"ThrottlerException: Too Many Requests"}. */
export const peerException = () =>
  new HttpException('ThrottlerException: Too Many Requests', HttpStatus.TOO_MANY_REQUESTS);

@Module({
  imports: [
    RestflowThrottleModule.forRoot({
      defaultThrottles: [UserRateThrottle],
      rates: { user: '100/min' },
      throttledException: peerException,
    }),
  ],
})
export class AppModule {}
