import type { ExecutionContext } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import type { ThrottleRequest } from '../throttles/throttle-request';

/** The kinds of handler the throttles run on. */
export type HandlerKind = 'http' | 'graphql' | 'ws' | 'rpc';

/** At startup: what kind of handler a method is, from Nest's metadata, or `undefined`. */
export function handlerKind(classRef: Function, handler: Function): HandlerKind | undefined {
  void classRef;
  if (Reflect.getMetadata(PATH_METADATA, handler) !== undefined && Reflect.getMetadata(METHOD_METADATA, handler) !== undefined) return 'http';
  return undefined;
}

/** A request-like view of a non-HTTP context, and how that transport is told "throttled". */
export interface ThrottleTarget {
  readonly request: ThrottleRequest;
  throttled(wait: number | null, headers?: Readonly<Record<string, string>>): Error;
  setHeaders?(headers: Readonly<Record<string, string>>): void;
}

/** Per request, for context types other than plain HTTP. */
export function targetFor(context: ExecutionContext): ThrottleTarget {
  throw new Error(`restflow-throttle cannot read a '${context.getType()}' context.`);
}
