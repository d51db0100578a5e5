import { Controller, Get, Module, Post } from '@nestjs/common';
import {
  RestflowThrottleModule,
  ScopedRateThrottle,
  SkipThrottle,
  Throttle,
  ThrottleScope,
  UserRateThrottle,
} from 'restflow-throttle';

@Controller('auth')
export class AuthController {
  @Post('login')
  @Throttle([ScopedRateThrottle])
  @ThrottleScope('login')
  login() {
    return { token: 'abc' };
  }

  @Get('health')
  @SkipThrottle()
  health() {
    return { status: 'ok' };
  }
}

@Module({
  imports: [
    RestflowThrottleModule.forRoot({
      defaultThrottles: [UserRateThrottle],
      rates: { user: '100/min', login: '3/min' },
    }),
  ],
  controllers: [AuthController],
})
export class AppModule {}
