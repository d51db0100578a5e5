/** The platforms the sample runs on; Express is Nest's default. */
export type SamplePlatform = 'express' | 'fastify';

/**
 * Everything the sample reads from its environment, in one typed object, so
 * that tests can start the very same app with settings of their own instead
 * of mutating `process.env`.
 */
export interface SampleSettings {
  /** `PLATFORM=fastify` runs on Fastify; anything else on Express. */
  readonly platform: SamplePlatform;
  /** `PORT`, default 3000. */
  readonly port: number;
  /** `HOST`, default all interfaces. */
  readonly host: string;
  /** `REDIS_URL`: when set, throttle counters live in Redis and are shared by every process. */
  readonly redisUrl?: string;
  /** `NUM_PROXIES`: DRF's setting; set it to the number of proxies in front of the app. */
  readonly numProxies?: number;
  /**
   * `PROCESSES`, default 1: how many processes of the sample share `REDIS_URL`. While Redis is out each one
   * limits on its own at this share of every rate (`onCacheError: 'local'`).
   */
  readonly processes: number;
  /** `MAINTENANCE=on` starts with the maintenance window open (see MaintenanceThrottle). */
  readonly maintenance: boolean;
}

/** Reads {@link SampleSettings} from environment variables; bad values fail fast with a clear message. */
export function settingsFromEnv(env: Readonly<Record<string, string | undefined>>): SampleSettings {
  const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a port number, got '${env.PORT}'.`);
  }
  const numProxies = env.NUM_PROXIES === undefined || env.NUM_PROXIES === '' ? undefined : Number(env.NUM_PROXIES);
  return {
    platform: env.PLATFORM?.toLowerCase() === 'fastify' ? 'fastify' : 'express',
    port,
    host: env.HOST || '0.0.0.0',
    // An empty REDIS_URL means "no Redis", as an unset one does.
    redisUrl: env.REDIS_URL || undefined,
    // Left as given: RestflowThrottleModule validates it and names the problem.
    numProxies,
    processes: env.PROCESSES === undefined || env.PROCESSES === '' ? 1 : Number(env.PROCESSES),
    maintenance: ['1', 'on', 'true', 'yes'].includes((env.MAINTENANCE ?? '').toLowerCase()),
  };
}
