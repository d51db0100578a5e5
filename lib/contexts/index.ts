/**
 * The seam between the guard and the transports: which handlers are
 * throttled, and, per request of a non-HTTP context, what the throttles read
 * and how a throttled request is answered. No transport package is imported
 * here; their metadata and objects are read structurally.
 */
import type { ArgumentsHost, ExecutionContext } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { graphqlTarget, isResolverHandler } from './graphql.context';
export { GRAPHQL_MODULE_OPTIONS, unguardedFieldResolver } from './graphql.context';
import { isPatternHandler, rpcTarget } from './rpc.context';
import type { HandlerKind, ThrottleTarget } from './target';
import { loadTransportException, transportFilter } from './transport-exceptions';
import { isGatewayHandler, wsTarget } from './ws.context';

export type { HandlerKind, ThrottleTarget } from './target';

/**
 * At startup: what kind of handler a method is, from Nest's metadata (route,
 * resolver or field resolver, `@SubscribeMessage`, `@MessagePattern` /
 * `@EventPattern`), or `undefined` when it is none of them.
 */
export function handlerKind(classRef: Function, handler: Function): HandlerKind | undefined {
  if (isPatternHandler(handler)) {
    void loadTransportException('rpc');
    return 'rpc';
  }
  if (isGatewayHandler(classRef, handler)) {
    void loadTransportException('ws');
    return 'ws';
  }
  if (isResolverHandler(handler)) return 'graphql';
  if (
    Reflect.getMetadata(PATH_METADATA, handler) !== undefined &&
    Reflect.getMetadata(METHOD_METADATA, handler) !== undefined
  )
    return 'http';
  return undefined;
}

/** Per request, for context types other than `http`. Throws for a context type it cannot read. */
export function targetFor(context: ExecutionContext): ThrottleTarget {
  const type = context.getType<string>();
  switch (type) {
    case 'graphql':
      return graphqlTarget(context);
    case 'ws':
      return wsTarget(context);
    case 'rpc':
      return rpcTarget(context);
    default:
      throw new Error(
        `restflow-throttle cannot throttle a '${type}' context (${context.getClass()?.name}.${context.getHandler()?.name}): ` +
          'it reads HTTP, GraphQL, WebSocket and microservice contexts only.',
      );
  }
}

/**
 * Answers a `ThrottledException` that reached the module's filter in a
 * GraphQL, WebSocket or RPC handler as the guard would have: the transport's
 * throttled error with its detail and wait (and `Retry-After` for GraphQL
 * over HTTP). GraphQL: thrown, for graphql-js to report; WS: emitted by
 * Nest's base filter; RPC: the observable error Nest's base filter returns.
 * `undefined` for a context type it does not know.
 */
export function answerInContext(
  host: ArgumentsHost,
  wait: number | null,
  detail: string,
): { answer: unknown } | undefined {
  switch (host.getType<string>()) {
    case 'graphql':
      throw graphqlTarget(host).throttled(wait, undefined, detail);
    case 'ws':
      return { answer: new (transportFilter('ws'))().catch(wsTarget(host).throttled(wait, undefined, detail), host) };
    case 'rpc':
      return { answer: new (transportFilter('rpc'))().catch(rpcTarget(host).throttled(wait, undefined, detail), host) };
    default:
      return undefined;
  }
}
