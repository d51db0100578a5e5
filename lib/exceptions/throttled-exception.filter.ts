import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ThrottledException } from './throttled.exception';

/**
 * Sends a {@link ThrottledException} as DRF does: status 429, the `detail`
 * body, and `Retry-After` when the wait is known and non-zero. Goes through
 * Nest's HTTP adapter, so Express and Fastify answer alike.
 */
@Catch(ThrottledException)
export class ThrottledExceptionFilter implements ExceptionFilter<ThrottledException> {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: ThrottledException, host: ArgumentsHost): void {
    const adapter = this.adapterHost.httpAdapter;
    const response: unknown = host.switchToHttp().getResponse();
    if (exception.wait) adapter.setHeader(response, 'Retry-After', String(exception.wait));
    adapter.reply(response, exception.getResponse(), exception.getStatus());
  }
}
