import { ExecutionContext, Injectable } from '@nestjs/common';
import { BaseThrottle, type ThrottleRequest } from 'restflow-throttle';
import type { SampleUser } from '../auth/users';
import { InFlightRequests } from './in-flight-requests.service';
import { onResponseEnd } from './on-response-end';

/** Requests one client may have in progress at once. */
export const MAX_IN_FLIGHT = 5;

/**
 * The docs' `ConcurrencyThrottle`, a throttle that is not a rate: at most
 * {@link MAX_IN_FLIGHT} requests in progress per user (per address for
 * anonymous clients). A slot is taken when the request is allowed and given
 * back when its response ends, whatever the outcome, errors included.
 *
 * Registered as a provider, so the module uses that instance with its
 * injected `InFlightRequests`.
 */
@Injectable()
export class ConcurrencyThrottle extends BaseThrottle {
  readonly scope = 'concurrency';

  constructor(private readonly inFlight: InFlightRequests) {
    super();
  }

  allowRequest(request: ThrottleRequest, context: ExecutionContext): boolean {
    const release = this.inFlight.tryAcquire(this.keyOf(request), MAX_IN_FLIGHT);
    if (release === null) return false;
    onResponseEnd(context, release);
    return true;
  }

  override wait(): number {
    return 1;
  }

  /** The counter's key: the user id when signed in, else the client address. */
  keyOf(request: ThrottleRequest): string {
    const user = request.user as SampleUser | undefined;
    return user === undefined ? `${this.scope}:ip:${this.getIdent(request)}` : `${this.scope}:user:${user.id}`;
  }
}
