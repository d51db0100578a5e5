/**
 * The app's own filter wins over the module's rendering of a 429, however it
 * is registered: `APP_FILTER` in the root module or a feature module,
 * `useGlobalFilters`, `@UseFilters`; for `ThrottledException`, for
 * `HttpException`, or for everything. `Retry-After` is still sent when the
 * app's filter renders the response itself.
 */
import {
  type ArgumentsHost,
  Catch,
  Controller,
  type ExceptionFilter,
  Get,
  HttpException,
  Module,
  UseFilters,
} from '@nestjs/common';
import { APP_FILTER, BaseExceptionFilter } from '@nestjs/core';
import { AnonRateThrottle, RestflowThrottleModule, Throttle, ThrottledException } from 'restflow-throttle';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { PLATFORMS, type Platform, serve, startApp, type TestApp } from '../../helpers/http-app';

/** Sends the peer's 429 body (@nestjs/throttler's), through Express or Fastify. */
function send(host: ArgumentsHost, status: number, body: unknown): void {
  const response = host.switchToHttp().getResponse<{
    status?(code: number): { json(body: unknown): void };
    code?(code: number): { send(body: unknown): void };
  }>();
  if (typeof response.code === 'function') response.code(status).send(body);
  else response.status!(status).json(body);
}

@Catch(ThrottledException)
class PeerBodyFilter implements ExceptionFilter {
  catch(exception: ThrottledException, host: ArgumentsHost): void {
    send(host, 429, { statusCode: 429, message: 'ThrottlerException: Too Many Requests', wait: exception.wait });
  }
}

@Catch(HttpException)
class HttpFilter implements ExceptionFilter {
  catch(exception: HttpException, host: ArgumentsHost): void {
    send(host, exception.getStatus(), { error: 'http', status: exception.getStatus() });
  }
}

@Catch()
class EverythingFilter implements ExceptionFilter {
  catch(_: unknown, host: ArgumentsHost): void {
    send(host, 429, { error: 'everything' });
  }
}

/** The usual error-tracker filter: catches everything, reports, lets Nest render. */
@Catch()
class ReportingFilter extends BaseExceptionFilter {
  static reported = 0;
  override catch(exception: unknown, host: ArgumentsHost): void {
    ReportingFilter.reported++;
    super.catch(exception, host);
  }
}

@Controller('limited')
class LimitedController {
  @Get() @Throttle([AnonRateThrottle]) get() {
    return 'ok';
  }
}

@Controller('own')
@UseFilters(new PeerBodyFilter())
class OwnFilterController {
  @Get() @Throttle([AnonRateThrottle]) get() {
    return 'ok';
  }
}

const throttling = () => RestflowThrottleModule.forRoot({ rates: { anon: '1/min' } });

async function refused(t: TestApp, path = '/limited') {
  expect((await t.request(path)).status).toBe(200);
  return t.request(path);
}

describe.each(PLATFORMS)("the app's own exception filter on %s", (platform: Platform) => {
  let t: TestApp;
  afterEach(() => t?.close());

  it.each([
    [
      'for ThrottledException',
      PeerBodyFilter,
      { statusCode: 429, message: 'ThrottlerException: Too Many Requests', wait: 60 },
    ],
    ['for HttpException', HttpFilter, { error: 'http', status: 429 }],
    ['for everything', EverythingFilter, { error: 'everything' }],
  ] as const)('%s, as APP_FILTER of the root module', async (_, filter, body) => {
    t = await startApp(platform, {
      imports: [throttling()],
      controllers: [LimitedController],
      providers: [{ provide: APP_FILTER, useClass: filter }],
    });
    const response = await refused(t);
    expect(response.status).toBe(429);
    expect(response.body).toEqual(body);
    expect(response.headers.get('retry-after')).toBe('60');
  });

  it('as APP_FILTER of a feature module imported before the throttle module', async () => {
    @Module({ providers: [{ provide: APP_FILTER, useClass: PeerBodyFilter }] })
    class ErrorsModule {}
    t = await startApp(platform, { imports: [ErrorsModule, throttling()], controllers: [LimitedController] });
    expect((await refused(t)).body).toMatchObject({
      statusCode: 429,
      message: 'ThrottlerException: Too Many Requests',
    });
  });

  it('with @UseFilters on the controller', async () => {
    t = await startApp(platform, { imports: [throttling()], controllers: [OwnFilterController] });
    expect((await refused(t, '/own')).body).toMatchObject({ statusCode: 429 });
  });

  it('with useGlobalFilters', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [throttling()],
      controllers: [LimitedController],
    }).compile();
    const app =
      platform === 'fastify'
        ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
        : moduleRef.createNestApplication({ logger: false });
    app.useGlobalFilters(new PeerBodyFilter());
    t = await serve(app);
    expect((await refused(t)).body).toMatchObject({ statusCode: 429 });
  });

  it("an error tracker's catch-all that lets Nest render: reported, DRF's body and Retry-After kept", async () => {
    ReportingFilter.reported = 0;
    t = await startApp(platform, {
      imports: [throttling()],
      controllers: [LimitedController],
      providers: [{ provide: APP_FILTER, useClass: ReportingFilter }],
    });
    const response = await refused(t);
    expect(ReportingFilter.reported).toBe(1);
    expect(response.status).toBe(429);
    expect(response.body).toEqual({ detail: 'Request was throttled. Expected available in 60 seconds.' });
    expect(response.headers.get('retry-after')).toBe('60');
  });

  it("no filter of the app: the module renders DRF's 429", async () => {
    t = await startApp(platform, { imports: [throttling()], controllers: [LimitedController] });
    const response = await refused(t);
    expect(response.body).toEqual({ detail: 'Request was throttled. Expected available in 60 seconds.' });
    expect(response.headers.get('retry-after')).toBe('60');
  });
});
