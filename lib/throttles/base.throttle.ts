import type { ExecutionContext } from '@nestjs/common';
import { clientIdent, remoteAddress } from './client-ident';
import type { ThrottleRequest } from './throttle-request';
import { ATTACH_RUNTIME, type ThrottleRuntime } from './throttle-runtime';

/**
 * The root of every throttle, as DRF's `BaseThrottle`: decide whether a
 * request may go on, and say how long a denied client should wait.
 *
 * A throttle is a singleton shared by concurrent requests, so it keeps no
 * per-request state on `this`: whatever `wait()` needs is looked up by request.
 */
export abstract class BaseThrottle {
  /** Set by the module at startup. */
  protected runtime?: ThrottleRuntime;

  /**
   * `true` to let the request through, `false` to deny it. May be sync or
   * async; the guard awaits either.
   */
  abstract allowRequest(request: ThrottleRequest, context: ExecutionContext): boolean | Promise<boolean>;

  /** Seconds until a denied request may be retried, or `null` when unknown (no `Retry-After`). */
  wait(request?: ThrottleRequest, context?: ExecutionContext): number | null {
    void request;
    void context;
    return null;
  }

  /**
   * Identifies the client by address: the platform's `request.ip`, or DRF's
   * X-Forwarded-For rule when `numProxies` is set (see the README, "Behind a proxy").
   */
  getIdent(request: ThrottleRequest): string {
    const runtime = this.runtime;
    const ident = clientIdent(request, runtime?.numProxies);
    if (runtime !== undefined && runtime.numProxies === undefined && request.headers['x-forwarded-for'] !== undefined) {
      // The platform's trust-proxy setting may have used the header for request.ip; if not, say so once.
      if (ident === remoteAddress(request)) runtime.forwardedForIgnored();
    }
    return ident;
  }

  /**
   * Called once by the module before the first request, and once per handler
   * that uses this throttle with that handler's resolved scope. Throw an
   * `ImproperlyConfiguredError` to stop the application from starting.
   */
  checkConfiguration(handlerScope?: string): void {
    void handlerScope;
  }

  /** @internal */
  [ATTACH_RUNTIME](runtime: ThrottleRuntime): void {
    this.runtime = runtime;
  }
}

/** A throttle class as the decorators and `defaultThrottles` take it. */
export type ThrottleType = new (...args: never[]) => BaseThrottle;
