/**
 * The app's own exception filters as Nest would ask them about a refusal, so
 * that a GraphQL, WebSocket or RPC handler throws `ThrottledException` (not
 * the transport's error) when the app has a filter for it.
 */
import type { ExceptionFilter, ExecutionContext } from '@nestjs/common';
import { EXCEPTION_FILTERS_METADATA, FILTER_CATCH_EXCEPTIONS } from '@nestjs/common/constants';
import type { ModuleRef } from '@nestjs/core';
import { ThrottledException } from './throttled.exception';
import { ThrottledExceptionFilter } from './throttled-exception.filter';

/** The part of Nest's application config read here: the app's global filters, in the order they were added. */
interface GlobalFilters {
  getGlobalFilters(): ExceptionFilter[];
}

/** A filter as `@UseFilters()` or `useGlobalFilters()` hold it: an instance, or a class Nest builds. */
type FilterEntry = ExceptionFilter | Function;

/** The app's global filters, in the order they were added (`APP_FILTER` providers and `useGlobalFilters`). */
function globalFilters(moduleRef: ModuleRef | undefined): ExceptionFilter[] {
  const config = (moduleRef as unknown as { container?: { applicationConfig?: GlobalFilters } } | undefined)?.container
    ?.applicationConfig;
  return config?.getGlobalFilters() ?? [];
}

/** The classes a filter's `@Catch()` names; empty for a catch-all. */
function caughtTypes(filter: FilterEntry): Function[] {
  const type = typeof filter === 'function' ? filter : filter.constructor;
  return (Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS, type) as Function[] | undefined) ?? [];
}

/** `true` when the filter would be asked about a `ThrottledException` (it names an ancestor, or catches all). */
function catchesThrottled(caught: readonly Function[]): boolean {
  return (
    caught.length === 0 ||
    caught.some((type) => type === ThrottledException || ThrottledException.prototype instanceof type)
  );
}

/**
 * Over GraphQL, WebSockets and RPC a refusal is, by default, the transport's
 * own error (a GraphQL error, a `WsException`, an `RpcException`), which an
 * app's `@Catch(ThrottledException)` filter never sees. This tells the guard
 * when to throw `ThrottledException` there instead: when the first filter
 * Nest would ask about it (method, then class `@UseFilters()`, then the
 * global ones, last added first; gateways get no global filter in Nest) names
 * `ThrottledException` in its `@Catch()`. A catch-all, or a filter for
 * `HttpException` alone, keeps receiving the transport's error, which is what
 * it was written for (a subclass of `BaseWsExceptionFilter`, say). The
 * module's own filter is passed over: it renders in the transport's form.
 *
 * Decided once per route at its first refusal: an app's filters are fixed
 * once it serves.
 */
export class AppExceptionFilters {
  private readonly decided = new Map<object, boolean>();

  constructor(private readonly moduleRef?: ModuleRef) {}

  /**
   * Whether a refusal of this route must be a `ThrottledException`.
   * @param route the route's plan, the key its decision is kept under.
   */
  wantThrottledException(route: object, context: ExecutionContext): boolean {
    let wanted = this.decided.get(route);
    if (wanted === undefined) {
      wanted = this.decide(context);
      this.decided.set(route, wanted);
    }
    return wanted;
  }

  private decide(context: ExecutionContext): boolean {
    const own = (target: object): FilterEntry[] =>
      (Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, target) as FilterEntry[] | undefined) ?? [];
    const global = context.getType() === 'ws' ? [] : globalFilters(this.moduleRef);
    // Nest's order: the global filters, the class's, the method's; asked from the last.
    const chain = [...global, ...own(context.getClass()), ...own(context.getHandler())];
    for (let i = chain.length - 1; i >= 0; i--) {
      const filter = chain[i];
      const type = typeof filter === 'function' ? filter : filter.constructor;
      if (type === ThrottledExceptionFilter || type.prototype instanceof ThrottledExceptionFilter) continue;
      const caught = caughtTypes(filter);
      if (catchesThrottled(caught)) return caught.includes(ThrottledException);
    }
    return false;
  }
}
