/** Decision and cache-outage events for metrics and logs, with client keys hashed (docs/metrics.md). */
import type { Logger } from '@nestjs/common';
import { createHmac, randomBytes } from 'node:crypto';
import type { ThrottleAlgorithm } from '../stores/throttle-store';

/**
 * One throttle's decision on one request. The client is named by a keyed
 * hash of its cache key, never by the key: a key holds an IP address or a
 * user id, which are personal data.
 */
export interface ThrottleDecisionEvent {
  /** The handler, as in error messages: `ArticlesController.list`. */
  readonly route: string;
  /** The throttle's class name. */
  readonly throttle: string;
  /** The throttle's scope (`anon`, `user`, a `@ThrottleScope`), if it has one. */
  readonly scope: string | undefined;
  /** HMAC-SHA256 of the cache key (base64url, 22 characters); `null` for a throttle without a cache key. */
  readonly keyHash: string | null;
  readonly allowed: boolean;
  /** This throttle's wait in seconds when it denied (DRF's formula), else `null`. */
  readonly wait: number | null;
  /** The cache that counted it: `default`, an alias of `caches`, or `custom`; `null` for a throttle without one. */
  readonly cache: string | null;
  readonly algorithm: ThrottleAlgorithm | null;
  /** The rate the request was held to (`limit` per `duration` seconds); `null` for a throttle without a rate. */
  readonly limit: number | null;
  readonly duration: number | null;
  /** Milliseconds from the start of the route's throttling to its decisions (cache round trip included). */
  readonly latencyMs: number;
}

/** A cache outage began (`down`) or ended (`up`), once each, as the warnings in the log. */
export interface CacheOutageEvent {
  /** `default` or the alias of `caches`. */
  readonly cache: string;
  readonly state: 'down' | 'up';
  /** Why the outage began (`down` only). */
  readonly reason?: string;
  /**
   * On a Redis Cluster, the master (`host:port`) the outage is about: each master has its own, and the
   * others keep deciding. Absent for a single server and for get/set caches.
   */
  readonly node?: string;
}

/**
 * Receives the module's events. Both methods are optional and called
 * synchronously on the request's path: keep them cheap (increment a
 * counter, record a histogram). A listener that throws is logged once and
 * never fails a request.
 */
export interface ThrottleEventListener {
  decision?(event: ThrottleDecisionEvent): void;
  cacheOutage?(event: CacheOutageEvent): void;
}

/**
 * The module's event source: the listeners of the `events` option, plus
 * any subscribed later (`subscribe()`). With no listener, the guard builds
 * no event, hashes no key and reads no clock: the feature costs a boolean
 * test per request.
 */
/**
 * The default secret of key hashes: made once per loaded copy of this file,
 * so every app and module copy it serves hashes a key alike; processes (or
 * copies) that must match each other's hashes set `eventKeySecret`.
 */
const PROCESS_KEY_SECRET = randomBytes(32);

export class ThrottleEvents {
  private listeners: readonly ThrottleEventListener[];
  private readonly failed = new WeakSet<ThrottleEventListener>();
  private readonly secret: Buffer | string;

  constructor(
    listeners: ThrottleEventListener | readonly ThrottleEventListener[] | undefined,
    keySecret: string | undefined,
    private readonly logger?: Pick<Logger, 'error'>,
  ) {
    this.listeners =
      listeners === undefined ? [] : Array.isArray(listeners) ? [...listeners] : [listeners as ThrottleEventListener];
    this.secret = keySecret ?? PROCESS_KEY_SECRET;
  }

  /** Whether anyone listens; checked before any event is built. */
  get active(): boolean {
    return this.listeners.length > 0;
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: ThrottleEventListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** The hash a decision event carries for a cache key. */
  keyHash(key: string): string {
    return createHmac('sha256', this.secret).update(key).digest('base64url').slice(0, 22);
  }

  decision(event: ThrottleDecisionEvent): void {
    this.emit((listener) => listener.decision?.(event));
  }

  cacheOutage(event: CacheOutageEvent): void {
    this.emit((listener) => listener.cacheOutage?.(event));
  }

  /** Tells every listener; one that throws is logged, and the others are still told. */
  private emit(tell: (listener: ThrottleEventListener) => void): void {
    for (const listener of this.listeners) {
      try {
        tell(listener);
      } catch (error) {
        this.listenerFailed(listener, error);
      }
    }
  }

  private listenerFailed(listener: ThrottleEventListener, error: unknown): void {
    if (this.failed.has(listener)) return;
    this.failed.add(listener);
    const reason = error instanceof Error ? error.message : String(error);
    this.logger?.error(`A throttle event listener threw (${reason}); its requests went on. Logged once per listener.`);
  }
}
