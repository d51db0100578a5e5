/** Brute-force protection: a rate throttle that keeps only failed attempts (logins), keyed by account and address. */
import { type ExecutionContext, Logger } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import { addressKeyIdent, hashIdent, textIdent } from '../identity/cache-key';
import type { ThrottleRequest } from '../identity/throttle-request';
import type { KeySpec } from '../stores/throttle-store';
import { chain, isThenable } from '../utils/chain';
import type { BaseThrottle, RouteInfo } from './base.throttle';
import { computeWait, type RateDecision } from './rate';
import { onResponseEnd, rawResponse } from './response-end';
import { SimpleRateThrottle } from './simple-rate.throttle';

/**
 * How an attempt ended: `'failure'` keeps it counted; `'success'` resets the key (or gives the attempt back, with
 * `resetOnSuccess = false`); `'other'` gives the attempt back and resets nothing.
 */
export type AttemptOutcome = 'failure' | 'success' | 'other';

/** What a {@link FailedAttemptsThrottle} counts by: OWASP's account and address (default), or one of the two. */
export type AttemptKey = 'account+address' | 'account' | 'address';

const HANDLER_KINDS = { graphql: 'GraphQL resolver', ws: 'WebSocket gateway handler', rpc: 'microservice handler' };

/**
 * Brute-force protection for a login form (or a one-time code, a password
 * reset): `N` failed attempts per window per account and client address, as
 * OWASP recommends, with the module's rate for `scope` (default `'login'`):
 *
 * ```ts
 * RestflowThrottleModule.forRoot({ rates: { login: '5/15m' } });
 * // on the route:
 * @Throttle([FailedAttemptsThrottle])
 * ```
 *
 * Every attempt is recorded when it arrives, as any rate throttle's hit, so
 * no more than `N` attempts of one key are ever in progress at once; the
 * `N + 1`th is a 429 with `Retry-After`. When the response is over, its
 * status decides ({@link attemptOutcome}): a failure (by default any status
 * outside 2xx but 429) stays counted; a success (2xx) forgets the key
 * (`resetOnSuccess`, the default) or gives back its own attempt. A response
 * cut short (the client went away before the answer) stays counted, so that
 * nobody gets an attempt for free by disconnecting.
 *
 * The account is read from the request body (`accountField`, default
 * `username`; override {@link getAccount} for another source) and
 * normalised ({@link normalizeAccount}): trimmed, NFKC, lower-cased. A request
 * without one is counted by address alone. The store must be able to give an
 * attempt back (`refund()`, and `forget()` for `resetOnSuccess`): the memory,
 * Redis and get/set stores can; another store is refused at startup. HTTP
 * routes only (Express and Fastify): the response's status is what counts, so
 * a GraphQL, WebSocket or microservice handler is refused at startup.
 * docs/brute-force.md has the whole story.
 */
export class FailedAttemptsThrottle extends SimpleRateThrottle {
  override scope = 'login';
  /** The body field that holds the account: the login name or e-mail address. */
  accountField = 'username';
  /** What the key holds: the account and the client address (OWASP's default), the account alone, or the address. */
  keyBy: AttemptKey = 'account+address';
  /** The statuses that count as a failed attempt; unset: every status outside 2xx, but 429 (see attemptOutcome()). */
  failureStatuses?: readonly number[];
  /** A success forgets every failure of its key (OWASP); `false`: it only gives its own attempt back. */
  resetOnSuccess = true;

  /** Per request, the refusal `wait()` reads. Weak: a finished request leaves nothing. */
  private readonly refusals = new WeakMap<object, RateDecision>();
  /** Set by a give-back that failed, cleared by one that worked: a cache outage is logged once, not per login. */
  private givingBackFails = false;

  /**
   * The account this attempt is for, before {@link normalizeAccount}: by
   * default the body's `accountField`. Override it to read another field, a
   * header or `request.user` (a one-time code for a signed-in user); may be
   * async. Nothing (`undefined`, `null`, an object) means "no account": the
   * attempt is counted by address alone.
   */
  getAccount(request: ThrottleRequest, context: ExecutionContext): unknown {
    void context;
    const body = request.body;
    if (typeof body !== 'object' || body === null || !Object.hasOwn(body, this.accountField)) return undefined;
    return (body as Record<string, unknown>)[this.accountField];
  }

  /**
   * The account as it is keyed, or `null` for none. Strings are trimmed,
   * put in Unicode NFKC form and lower-cased, so `Alice`, ` alice ` and
   * `ａｌｉｃｅ` are one account; numbers and bigints as written. Keys must be
   * at least as coarse as the app's own matching of accounts: an app that
   * matches more loosely (e-mail `+tags`, dots) overrides this.
   */
  normalizeAccount(account: unknown): string | null {
    if ((typeof account === 'number' && Number.isFinite(account)) || typeof account === 'bigint')
      return String(account);
    if (typeof account !== 'string') return null;
    const text = account.normalize('NFKC').trim().toLowerCase();
    return text === '' ? null : text;
  }

  /**
   * How an attempt ended, from the status sent (a handler's error counts by
   * the status Nest answered it with). Default: a status in
   * `failureStatuses` (unset: every status outside 2xx but 429, which
   * another throttle of the route sent before the handler ran) is a failure;
   * other 2xx are successes; anything else is `'other'`. Override it for a
   * form that answers both ways with a redirect (read `response.getHeader('location')`).
   */
  attemptOutcome(status: number, response: ServerResponse): AttemptOutcome {
    void response;
    const success = status >= 200 && status < 300;
    const statuses = this.failureStatuses;
    // A 429 is another throttle of the route refusing the request: the handler never checked the password.
    const failed = statuses === undefined ? !success && status !== 429 : statuses.includes(status);
    return failed ? 'failure' : success ? 'success' : 'other';
  }

  /** `ip:<address>`, `acct:<account>` or both (`acct:<account>|ip:<address>`), as `formatKey()` makes it safe. */
  getCacheKey(request: ThrottleRequest, context: ExecutionContext): string | null | PromiseLike<string | null> {
    if (this.keyBy === 'address') return this.formatKey(addressKeyIdent(this.getIdent(request)));
    return chain(this.getAccount(request, context), (account) => this.attemptKey(request, account));
  }

  /** Non-HTTP routes, and stores that cannot give an attempt back, stop the app at startup. */
  override forRoute(route: RouteInfo): BaseThrottle | null {
    if (route.kind !== undefined && route.kind !== 'http') throw this.notHttp(`a ${HANDLER_KINDS[route.kind]}`);
    const throttle = super.forRoute(route);
    if (throttle instanceof FailedAttemptsThrottle) throttle.checkStore();
    return throttle;
  }

  override allowRequest(request: ThrottleRequest, context: ExecutionContext): boolean | PromiseLike<boolean> {
    const response = context.getType() === 'http' ? rawResponse(context.getArgByIndex(1)) : undefined;
    if (response === undefined) {
      throw this.notHttp(`${context.getClass()?.name}.${context.getHandler()?.name}, which is not an HTTP route`);
    }
    return chain(this.decide(request, context), (decision) => this.attempt(request, response, decision));
  }

  /** DRF's wait for a refused attempt: when the oldest failure of the window expires. */
  override wait(request?: ThrottleRequest): number | null {
    const decision = request === undefined ? undefined : this.refusals.get(request);
    return decision === undefined ? null : computeWait(decision);
  }

  /** Refused: remembered for `wait()`. Admitted: settled when its response is over. */
  private attempt(request: ThrottleRequest, response: ServerResponse, decision: RateDecision | null): boolean {
    if (decision === null) return true;
    if (!decision.allowed) {
      this.refusals.set(request, decision);
      return false;
    }
    onResponseEnd(response, (status) => this.settle(decision, status, response));
    return true;
  }

  /**
   * A failure, or a response cut short (`status` undefined), keeps the attempt; otherwise it is given back or
   * its key forgotten. Runs in a response event: whatever fails here is logged, never thrown.
   */
  private settle(decision: RateDecision, status: number | undefined, response: ServerResponse): void {
    try {
      if (status === undefined) return;
      const outcome = this.attemptOutcome(status, response);
      if (outcome === 'failure') return;
      const store = this.store();
      let done: void | Promise<void>;
      if (outcome === 'success' && this.resetOnSuccess) done = store.forget!(decision.key);
      else {
        const spec: KeySpec = {
          limit: decision.numRequests,
          durationSec: decision.duration,
          algorithm: this.algorithm,
          scope: this.scope,
        };
        const now = store.ownClock && this.settings?.clock === undefined ? undefined : this.timer();
        // What the attempt counted as (`@ThrottleCost()` on the route), else 1.
        const cost = decision.cost ?? 1;
        done = store.refund!(decision.key, cost, spec, now);
      }
      if (!isThenable(done)) this.givingBackFails = false;
      else
        Promise.resolve(done).then(
          () => {
            this.givingBackFails = false;
          },
          (error: unknown) => this.settleFailed(error),
        );
    } catch (error) {
      this.settleFailed(error);
    }
  }

  /**
   * The attempt stays counted: the safe side. Logged once per run of failures (a cache outage fails every
   * login's give-back). The key is not logged, as it holds an account and an address.
   */
  private settleFailed(error: unknown): void {
    if (this.givingBackFails) return;
    this.givingBackFails = true;
    const logger = this.settings?.logger ?? new Logger('RestflowThrottle');
    const reason = error instanceof Error ? error.message : String(error);
    logger.warn(
      `${this.constructor.name} could not give an attempt back (scope '${this.scope}'): ${reason}. ` +
        'Such attempts stay counted; the next failures are not logged until one works again.',
    );
  }

  private attemptKey(request: ThrottleRequest, raw: unknown): string {
    const account = this.normalizeAccount(raw);
    const address = addressKeyIdent(this.getIdent(request));
    if (account === null) return this.formatKey(address);
    // No `|` in the account part, so `acct:a|ip:b` reads one way only, whatever text an address holds.
    const ident = `acct:${account.includes('|') ? hashIdent(account) : textIdent(account)}`;
    return this.formatKey(this.keyBy === 'account' ? ident : `${ident}|${address}`);
  }

  private checkStore(): void {
    const store = this.store();
    const missing = [
      ...(typeof store.refund === 'function' ? [] : ['refund()']),
      ...(this.resetOnSuccess && typeof store.forget !== 'function' ? ['forget()'] : []),
    ];
    if (missing.length === 0) return;
    throw new ImproperlyConfiguredError(
      `${this.constructor.name} gives successful attempts back, but its store (${store.constructor.name}) has no ` +
        `${missing.join(' or ')}. Use the memory, Redis or a get/set cache, or implement ${missing.join(' and ')} ` +
        'in your ThrottleStore (docs/brute-force.md).',
      'RFT_ATTEMPTS_STORE_UNSUPPORTED',
    );
  }

  /** `where`: `a GraphQL resolver` at startup (the planner names it), the handler at request time. */
  private notHttp(where: string): ImproperlyConfiguredError {
    return new ImproperlyConfiguredError(
      `${this.constructor.name} counts failed attempts by the status of the HTTP response, so it only throttles ` +
        `HTTP routes (Express, Fastify), and it is used on ${where}. Use another throttle there (docs/brute-force.md).`,
      'RFT_ATTEMPTS_NOT_HTTP',
    );
  }
}
