import 'reflect-metadata';
import { Controller, Get, Module, type ExecutionContext, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { caching } from 'cache-manager';
import { redisStore, type RedisStore } from 'cache-manager-ioredis-yet';
import {
  RestflowThrottleModule,
  SimpleRateThrottle,
  Throttle,
  ThrottledException,
  ThrottleGuard,
  type ThrottleRequest,
} from 'restflow-throttle';
import { median } from './stats';

/**
 * The decision micro-benchmark: the throttle engine alone (guard -> throttle
 * -> store), no HTTP. One hot key whose sliding log is kept exactly full: a
 * virtual clock advances by `duration / (limit - 0.5)` per decision, so each
 * allowed decision drops one expired timestamp and records one, with `limit`
 * timestamps in the log. A store whose cost grows with the log shows it here.
 */
const WINDOW = 3600;

class HotKeyThrottle extends SimpleRateThrottle {
  override scope = 'hot';
  /** This engine's virtual clock (one per engine, so filling one log does not expire another). */
  clock = { now: 1_000_000 };
  /** Stores honour a throttle's own timer (the SPEC's `timer()` override). */
  override timer(): number {
    return this.clock.now;
  }
  getCacheKey(): string {
    return `throttle_hot_${String(this.numRequests)}`;
  }
}

@Controller()
class HotController {
  @Get()
  @Throttle([HotKeyThrottle])
  hot(): string {
    return 'ok';
  }
}

/** Registered as a provider, so the module uses this instance and the bench can reach its clock. */
@Module({ providers: [HotKeyThrottle] })
class HotModule {}

export type DecisionStore = 'memory' | 'redis';

export interface DecisionOptions {
  store: DecisionStore;
  limits: number[];
  /** Seconds per measurement. */
  seconds: number;
  rounds: number;
  redisPort?: number;
  /** Decisions in flight at once on the Redis store (a server has many requests in flight). */
  concurrency?: number;
  /** Give up filling a log after this many seconds (a store that is O(limit) may never fill 100 000). */
  fillTimeoutSeconds?: number;
}

export interface DecisionResult {
  store: DecisionStore;
  limit: number;
  /** Median decisions per second with the log full and sliding (every decision allowed). */
  allowedPerSec: number | null;
  /** Median decisions per second over the limit (every decision denied, 429 built). */
  deniedPerSec: number | null;
  /** Decisions that did not go the expected way (must be 0). */
  unexpected: number;
  /** Every decision made, the fill included (to count server commands per decision). */
  decisionsMade: number;
  note?: string;
}

interface Engine {
  limit: number;
  step: number;
  clock: { now: number };
  decide: () => boolean | Promise<boolean>;
  close: () => Promise<void>;
}

async function createEngine(options: DecisionOptions, limit: number): Promise<Engine> {
  let cache: Awaited<ReturnType<typeof caching<RedisStore>>> | undefined;
  if (options.store === 'redis') {
    cache = await caching(redisStore, { host: '127.0.0.1', port: options.redisPort });
    await cache.store.client.del(`throttle_hot_${limit}`);
  }
  const app: INestApplicationContext = await NestFactory.createApplicationContext(
    {
      module: HotModule,
      controllers: [HotController],
      imports: [RestflowThrottleModule.forRoot({ rates: { hot: `${limit}/h` }, ...(cache ? { cache } : {}) })],
    },
    { logger: ['error'] },
  );
  const guard = app.get(ThrottleGuard, { strict: false });
  const throttle = app.get(HotKeyThrottle);
  const request: ThrottleRequest = { headers: {}, ip: '127.0.0.1' };
  const http = { getRequest: () => request, getResponse: () => ({}), getNext: () => undefined };
  const context = {
    getType: () => 'http',
    getClass: () => HotController,
    getHandler: () => HotController.prototype.hot,
    getArgs: () => [request],
    switchToHttp: () => http,
  } as unknown as ExecutionContext;
  return {
    limit,
    step: WINDOW / (limit - 0.5),
    clock: throttle.clock,
    decide: () => guard.canActivate(context) as boolean | Promise<boolean>,
    close: async () => {
      await app.close();
      await cache?.store.client.quit();
    },
  };
}

interface Measured {
  perSec: number;
  done: number;
  /** Decisions that did not go the expected way. */
  unexpected: number;
}

/** Runs `decide` for `seconds` (at most `maxDecisions`), advancing the clock when decisions should be allowed. */
async function measure(engine: Engine, seconds: number, expectAllowed: boolean, concurrency: number, maxDecisions = Infinity): Promise<Measured> {
  const clock = engine.clock;
  let done = 0;
  let unexpected = 0;
  const record = (allowed: boolean): void => {
    done++;
    if (allowed !== expectAllowed) unexpected++;
  };
  const deniedOrThrow = (error: unknown): boolean => {
    if (error instanceof ThrottledException) return false;
    throw error;
  };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  if (expectAllowed) clock.now += engine.step;
  let first: boolean | Promise<boolean>;
  try {
    first = engine.decide();
  } catch (error) {
    first = deniedOrThrow(error);
  }
  if (!(first instanceof Promise)) {
    // In-process store: decisions are synchronous, so measure them without promises in the way.
    record(first);
    while (done < maxDecisions && performance.now() < deadline) {
      for (let i = 0; i < 1000 && done < maxDecisions; i++) {
        if (expectAllowed) clock.now += engine.step;
        let allowed: boolean;
        try {
          allowed = engine.decide() as boolean;
        } catch (error) {
          allowed = deniedOrThrow(error);
        }
        record(allowed);
      }
    }
  } else {
    record(await first.catch(deniedOrThrow));
    const worker = async (): Promise<void> => {
      while (done < maxDecisions && performance.now() < deadline) {
        if (expectAllowed) clock.now += engine.step;
        record(await (engine.decide() as Promise<boolean>).catch(deniedOrThrow));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }
  return { perSec: done / ((performance.now() - started) / 1000), done, unexpected };
}

export async function measureDecisions(options: DecisionOptions): Promise<DecisionResult[]> {
  const concurrency = options.concurrency ?? 32;
  const engines: Engine[] = [];
  const results = new Map<number, { allowed: number[]; denied: number[]; unexpected: number; made: number; note?: string }>();
  try {
    for (const limit of options.limits) {
      const engine = await createEngine(options, limit);
      engines.push(engine);
      // Fill the log to exactly `limit` timestamps.
      const fillSeconds = options.fillTimeoutSeconds ?? 60;
      const fill = await measure(engine, fillSeconds, true, concurrency, limit);
      const entry = { allowed: [] as number[], denied: [] as number[], unexpected: fill.unexpected, made: fill.done, note: undefined as string | undefined };
      if (fill.done < limit) entry.note = `log not filled to ${limit} within ${fillSeconds} s (${fill.done} decisions)`;
      results.set(limit, entry);
    }
    // Interleaved: limit A, B, C, then again, so drift hits every limit alike.
    for (let round = 0; round < options.rounds; round++) {
      for (const engine of engines) {
        const entry = results.get(engine.limit)!;
        if (entry.note !== undefined) continue;
        const allowed = await measure(engine, options.seconds, true, concurrency);
        const denied = await measure(engine, options.seconds, false, concurrency);
        entry.allowed.push(allowed.perSec);
        entry.denied.push(denied.perSec);
        entry.unexpected += allowed.unexpected + denied.unexpected;
        entry.made += allowed.done + denied.done;
      }
    }
  } finally {
    for (const engine of engines) await engine.close();
  }
  return options.limits.map((limit) => {
    const entry = results.get(limit)!;
    return {
      store: options.store,
      limit,
      allowedPerSec: entry.allowed.length ? median(entry.allowed) : null,
      deniedPerSec: entry.denied.length ? median(entry.denied) : null,
      unexpected: entry.unexpected,
      decisionsMade: entry.made,
      ...(entry.note ? { note: entry.note } : {}),
    };
  });
}
