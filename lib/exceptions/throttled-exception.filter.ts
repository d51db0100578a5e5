/**
 * Renders a `ThrottledException` as DRF does: the JSON detail and
 * `Retry-After`, on Express and Fastify; an app's own filter for it wins.
 */
import { type ArgumentsHost, Catch, type ExceptionFilter, Optional } from '@nestjs/common';
import { FILTER_CATCH_EXCEPTIONS } from '@nestjs/common/constants';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { answerInContext } from '../contexts';
import { ThrottledException } from './throttled.exception';

/** The response methods of Express (`res`) and Fastify (`reply`) this filter may need. */
interface PlatformResponse {
  setHeader?(name: string, value: string): void;
  header?(name: string, value: string): unknown;
  status?(code: number): { json(body: unknown): unknown };
  code?(code: number): { send(body: unknown): unknown };
}

/** The part of Nest's application config this filter reads: the app's global filters, in the order they were added. */
interface GlobalFilters {
  getGlobalFilters(): ExceptionFilter[];
}

/**
 * Sends a {@link ThrottledException} as DRF does: status 429, the `detail`
 * body, and `Retry-After` when the wait is known and non-zero. Goes through
 * Nest's HTTP adapter, so Express and Fastify answer alike; built by hand
 * (`new ThrottledExceptionFilter()`) it talks to the response directly.
 *
 * The module registers it as a global filter, and Nest asks global filters
 * last-added first, so it would shadow an app's own global filter added
 * before it (an `APP_FILTER` of the root module, say). It therefore hands the
 * exception to the nearest such filter that catches it (one for
 * `ThrottledException`, `HttpException`, or everything): the app's filter
 * wins however it was registered. Filters bound with `@UseFilters` run
 * before any global one anyway.
 *
 * In a GraphQL, WebSocket or RPC handler the guard throws
 * `ThrottledException` only when the app has a filter for it (see
 * `AppExceptionFilters`); should it reach this filter first, the app's
 * filter is asked as over HTTP, else it is answered in the transport's own
 * form, as the guard answers without such a filter.
 */
@Catch(ThrottledException)
export class ThrottledExceptionFilter implements ExceptionFilter<ThrottledException> {
  constructor(
    @Optional() private readonly adapterHost?: HttpAdapterHost,
    @Optional() private readonly moduleRef?: ModuleRef,
  ) {}

  catch(exception: ThrottledException, host: ArgumentsHost): unknown {
    // Nest asks no global filter in a gateway: there this filter was bound with @UseFilters, and answers itself.
    const type = host.getType();
    const owner = type === 'ws' ? undefined : this.appFilterFor(exception);
    if (owner !== undefined) return owner.catch(exception, host);
    if (type !== 'http') {
      const answered = answerInContext(host, exception.wait, exception.detail);
      if (answered !== undefined) return answered.answer;
    }
    // The response is the second argument on every platform; switchToHttp() would make three closures for it.
    const response = host.getArgByIndex<PlatformResponse>(1);
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

  /** Per exception class, the app's filter found for it (`null`: none); an app's global filters are fixed once it serves. */
  private readonly owners = new Map<Function, ExceptionFilter | null>();

  /** The app's own global filter that Nest would have asked after this one and that catches the exception, if any. */
  private appFilterFor(exception: ThrottledException): ExceptionFilter | undefined {
    let owner = this.owners.get(exception.constructor);
    if (owner === undefined) {
      owner = this.findAppFilter(exception) ?? null;
      this.owners.set(exception.constructor, owner);
    }
    return owner ?? undefined;
  }

  private findAppFilter(exception: ThrottledException): ExceptionFilter | undefined {
    const config = (this.moduleRef as unknown as { container?: { applicationConfig?: GlobalFilters } } | undefined)
      ?.container?.applicationConfig;
    const filters = config?.getGlobalFilters() ?? [];
    const mine = filters.indexOf(this);
    for (let i = mine - 1; i >= 0; i--) {
      const filter = filters[i];
      if (filter instanceof ThrottledExceptionFilter) continue;
      const caught = (Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS, filter.constructor) as Function[] | undefined) ?? [];
      if (caught.length === 0 || caught.some((type) => exception instanceof type)) return filter;
    }
    return undefined;
  }
}
