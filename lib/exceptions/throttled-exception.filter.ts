import { ArgumentsHost, Catch, ExceptionFilter, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ThrottledException } from './throttled.exception';

/** The response methods of Express (`res`) and Fastify (`reply`) this filter may need. */
interface PlatformResponse {
  setHeader?(name: string, value: string): void;
  header?(name: string, value: string): unknown;
  status?(code: number): { json(body: unknown): unknown };
  code?(code: number): { send(body: unknown): unknown };
}

/**
 * Sends a {@link ThrottledException} as DRF does: status 429, the `detail`
 * body, and `Retry-After` when the wait is known and non-zero. Goes through
 * Nest's HTTP adapter, so Express and Fastify answer alike; built by hand
 * (`new ThrottledExceptionFilter()`) it talks to the response directly.
 */
@Catch(ThrottledException)
export class ThrottledExceptionFilter implements ExceptionFilter<ThrottledException> {
  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  catch(exception: ThrottledException, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<PlatformResponse>();
    const body = exception.getResponse();
    const status = exception.getStatus();
    const retryAfter = exception.wait ? String(exception.wait) : undefined;
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter) {
      if (retryAfter !== undefined) adapter.setHeader(response, 'Retry-After', retryAfter);
      adapter.reply(response, body, status);
    } else if (typeof response.code === 'function') {
      if (retryAfter !== undefined) response.header?.('Retry-After', retryAfter);
      response.code(status).send(body);
    } else if (typeof response.status === 'function') {
      if (retryAfter !== undefined) response.setHeader?.('Retry-After', retryAfter);
      response.status(status).json(body);
    }
  }
}
