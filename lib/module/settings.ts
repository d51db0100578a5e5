/** What every throttle reads from the module options (rates, proxies, clock), handed to it through DI. */
import { Logger } from '@nestjs/common';
import { type BlockDuration, parseBlockDuration } from '../throttles/block-duration';

/** The module options the settings are read from (a part of `RestflowThrottleOptions`, named here so settings need not import them). */
export interface SettingsSource {
  readonly rates?: Readonly<Record<string, string | null>>;
  readonly numProxies?: number;
  readonly ipv6Subnet?: number | false;
  readonly clock?: () => number;
  readonly blockDurations?: Readonly<Record<string, BlockDuration>>;
}

/**
 * What DRF reads from `api_settings`, resolved once from the module options:
 * rates, proxies, the clock. Every throttle is handed it through Nest's DI
 * (property injection, so a subclass needs no constructor).
 */
export class ThrottleSettings {
  readonly rates: Readonly<Record<string, string | null>>;
  readonly numProxies: number | undefined;
  readonly ipv6Subnet: number | false;
  /** The clock every throttle reads, when the app gave one (tests); `undefined` means each store's own. */
  readonly clock: (() => number) | undefined;
  /** Scope -> seconds a refused client stays refused (the module's `blockDurations`, parsed). */
  readonly blockDurations: Readonly<Record<string, number>>;
  readonly logger = new Logger('RestflowThrottle');
  private warnedForwardedFor = false;

  constructor(options: SettingsSource) {
    this.rates = Object.freeze({ ...(options.rates ?? {}) });
    this.numProxies = options.numProxies;
    this.ipv6Subnet = options.ipv6Subnet ?? 64;
    this.clock = options.clock;
    const blocks = Object.entries(options.blockDurations ?? {});
    this.blockDurations = Object.freeze(
      Object.fromEntries(blocks.map(([scope, block]) => [scope, parseBlockDuration(block, `blockDurations.${scope}`)])),
    );
  }

  /** Called when a request carries X-Forwarded-For that the configuration ignores; warns once. */
  forwardedForIgnored(): void {
    if (this.warnedForwardedFor) return;
    this.warnedForwardedFor = true;
    this.logger.warn(
      'Requests carry X-Forwarded-For, but throttling keys on the connection address: numProxies is not set and the platform does not trust the proxy. ' +
        "Behind a proxy every client would share one bucket; set numProxies (or your platform's trust proxy). See docs/proxies.md.",
    );
  }
}
