import 'reflect-metadata';
import { Controller, Get, Module, type ExecutionContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  AnonRateThrottle,
  MemoryThrottleStore,
  RESTFLOW_THROTTLE_CACHE,
  RestflowThrottleModule,
  ThrottleGuard,
  type ThrottleCache,
  type ThrottleRequest,
} from 'restflow-throttle';
import { clientAddress } from './load';

@Controller()
class MemoryController {
  @Get()
  hello(): string {
    return 'ok';
  }
}

@Module({})
class MemoryModule {}

export interface MemoryOptions {
  clients: number;
  /** `memoryCacheMaxKeys`; `undefined` = the module's default. */
  maxKeys?: number;
}

export interface MemoryResult {
  clients: number;
  /** The store's key bound, and whether it is the module's default. */
  maxKeys: number;
  defaultCap: boolean;
  keysHeld: number;
  /** Bytes, after a full GC, before and after the clients. */
  rssBefore: number;
  heapBefore: number;
  rssAfter: number;
  heapAfter: number;
  /** Heap growth per key held. */
  bytesPerKey: number;
  decisionsPerSec: number;
  /** Whether `gc()` was available (run with --expose-gc), so the numbers are after a full collection. */
  collected: boolean;
}

/**
 * `clients` distinct clients (numProxies 1, one X-Forwarded-For each) make one
 * request each through the guard and the default in-memory cache, in this
 * process; then RSS and heap after a full GC. In-process because a million
 * HTTP requests would take minutes and exercise the same store code.
 */
export async function measureMemory(options: MemoryOptions): Promise<MemoryResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const collect = (): void => {
    for (let i = 0; i < 3; i++) gc?.();
  };
  const app = await NestFactory.createApplicationContext(
    {
      module: MemoryModule,
      controllers: [MemoryController],
      imports: [
        RestflowThrottleModule.forRoot({
          defaultThrottles: [AnonRateThrottle],
          rates: { anon: '1000/h' },
          numProxies: 1,
          ...(options.maxKeys !== undefined ? { memoryCacheMaxKeys: options.maxKeys } : {}),
        }),
      ],
    },
    { logger: ['error'] },
  );
  try {
    const guard = app.get(ThrottleGuard, { strict: false });
    const cache = app.get<ThrottleCache>(RESTFLOW_THROTTLE_CACHE, { strict: false });
    let request: ThrottleRequest = { headers: {}, socket: { remoteAddress: '127.0.0.1' } };
    const http = { getRequest: () => request, getResponse: () => ({}), getNext: () => undefined };
    const context = {
      getType: () => 'http',
      getClass: () => MemoryController,
      getHandler: () => MemoryController.prototype.hello,
      switchToHttp: () => http,
    } as unknown as ExecutionContext;
    // Warm the code path, then start from an empty store.
    guard.canActivate(context);
    await (cache.store as MemoryThrottleStore).reset();
    collect();
    const before = process.memoryUsage();
    const started = performance.now();
    for (let n = 0; n < options.clients; n++) {
      // A fresh request per client, as a server would see them.
      request = { headers: { 'x-forwarded-for': clientAddress(n) }, socket: { remoteAddress: '127.0.0.1' } };
      if (guard.canActivate(context) !== true) throw new Error(`client ${n} was not allowed`);
    }
    const elapsed = (performance.now() - started) / 1000;
    collect();
    const after = process.memoryUsage();
    const store = cache.store;
    if (!(store instanceof MemoryThrottleStore)) throw new Error('the default cache is not the memory store');
    const keysHeld = store.size;
    return {
      clients: options.clients,
      maxKeys: store.maxKeys,
      defaultCap: options.maxKeys === undefined,
      keysHeld,
      rssBefore: before.rss,
      heapBefore: before.heapUsed,
      rssAfter: after.rss,
      heapAfter: after.heapUsed,
      bytesPerKey: keysHeld > 0 ? (after.heapUsed - before.heapUsed) / keysHeld : 0,
      decisionsPerSec: options.clients / elapsed,
      collected: gc !== undefined,
    };
  } finally {
    await app.close();
  }
}
