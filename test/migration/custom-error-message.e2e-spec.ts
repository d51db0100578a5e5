/**
 * Port of @nestjs/throttler's test/error-message (6.x), written from the migration guide.
 *
 * The peer's app: throttlers `default` and `other` (2 per 3 s each), `/default` skipping `other` and
 * `/other` skipping `default`, and `errorMessage(context, { tracker, totalHits })` writing
 * `<Controller>-<handler> <tracker> <totalHits>` into the 429. Here, as the guide says: the module's
 * `throttledException(info)` builds the 429 from the context and the refusing throttle's `hits`, the tracker
 * being the client's address (`request.ip`, the peer's default tracker).
 *
 * `hits` differs by design: the peer counts the refused request too (3 of 2), DRF does not (2 of 2).
 */
import { Controller, Get } from '@nestjs/common';
import { RestflowThrottleModule, Throttle } from 'restflow-throttle';
import { PLATFORMS, type PortedApp, startPorted } from './helpers';
import { PerRouteUserThrottle } from './examples/per-route';
import { errorMessage } from './examples/error-message';

/** `{ name: 'default', ttl: seconds(3), limit: 2 }` */
class DefaultThrottle extends PerRouteUserThrottle {
  override scope = 'default';
}
/** `{ name: 'other', ttl: seconds(3), limit: 2 }` */
class OtherThrottle extends PerRouteUserThrottle {
  override scope = 'other';
}

@Controller()
class CustomErrorMessageController {
  @Get('default')
  @Throttle([DefaultThrottle])
  defaultRoute() {
    return { success: true };
  }

  @Get('other')
  @Throttle([OtherThrottle])
  otherRoute() {
    return { success: true };
  }
}

describe.each(PLATFORMS)('Custom-Error-Message Throttler - %s', (platform) => {
  let app: PortedApp;
  beforeAll(async () => {
    app = await startPorted(platform, (clock) => ({
      imports: [
        RestflowThrottleModule.forRoot({
          rates: { default: '2/3s', other: '2/3s' },
          throttledException: errorMessage,
          clock: clock.read,
        }),
      ],
      controllers: [CustomErrorMessageController],
    }));
  });
  afterAll(() => app.close());

  describe.each([
    { route: 'default', errorMessage: 'CustomErrorMessageController-defaultRoute 127.0.0.1 2' },
    { route: 'other', errorMessage: 'CustomErrorMessageController-otherRoute 127.0.0.1 2' },
  ])('Custom-error-message Route - $route', ({ route, errorMessage }) => {
    it('should receive a custom exception', async () => {
      const limit = 2;
      for (let i = 0; i < limit; i++) expect((await app.send(`/${route}`)).status).toBe(200);
      const refused = await app.send(`/${route}`);
      expect([refused.status, refused.body, refused.headers]).toEqual([
        429,
        { statusCode: 429, message: errorMessage },
        { 'retry-after': '3' },
      ]);
    });
  });
});
