/**
 * Long uptime: the memory cache stays bounded, nothing schedules a timer per
 * key or per hit, requests are not kept alive, the app closes cleanly, and
 * wall-clock jumps change nothing.
 */
import {
  Controller,
  Get,
  Injectable,
  type NestInterceptor,
  type ExecutionContext,
  type CallHandler,
} from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AnonRateThrottle, MemoryThrottleStore, RestflowThrottleModule, Throttle } from 'restflow-throttle';
import { jest } from '@jest/globals';
import { PLATFORMS, startApp } from '../../helpers/http-app';

const gc = (globalThis as { gc?: () => void }).gc;

async function collect(): Promise<void> {
  if (gc === undefined) throw new Error('run the tests with node --expose-gc (npm test does)');
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
}

describe('the memory store under 200 000 distinct clients', () => {
  it.each(['sliding-log', 'gcra'] as const)(
    '%s: stays at its bound, evicting the least recently used first, with bounded heap growth',
    async (algorithm) => {
      await collect();
      const before = process.memoryUsage().heapUsed;
      const store = new MemoryThrottleStore(100_000);
      for (let i = 0; i < 200_000; i++)
        store.hit(
          `throttle_anon_10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          100,
          3600,
          1000 + i * 1e-4,
          algorithm,
        );
      expect(store.size).toBe(100_000);
      await collect();
      const growth = process.memoryUsage().heapUsed - before;
      // Stated cap: 600 bytes a key at the bound (60 MB for 100 000 keys), key strings included.
      expect(growth).toBeLessThan(100_000 * 600);
      // The first 100 000 are gone (a fresh key: one slot of 100 in use), the last 100 000 kept their count.
      expect(store.hit('throttle_anon_10.0.0.0', 100, 3600, 1030, algorithm).count).toBe(1);
      expect(store.hit(`throttle_anon_10.3.13.63`, 100, 3600, 1030, algorithm).count).toBe(2); // i = 199 999
      void store;
    },
  );

  it('schedules no timer for keys or hits', () => {
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;
    const spies = [
      jest.spyOn(globalThis, 'setTimeout'),
      jest.spyOn(globalThis, 'setInterval'),
      jest.spyOn(globalThis, 'setImmediate'),
    ];
    try {
      const store = new MemoryThrottleStore(1000);
      for (let i = 0; i < 20_000; i++) store.hit(`k${i % 3000}`, 5, 1, i * 0.01, i % 2 === 0 ? 'gcra' : 'sliding-log');
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const timersAfter = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;
    expect(timersAfter).toBeLessThanOrEqual(timersBefore);
  });
});

const alive: WeakRef<object>[] = [];

/** Remembers every request weakly, to see whether anything else holds on to them. */
@Injectable()
class WatchRequests implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler) {
    alive.push(new WeakRef(context.switchToHttp().getRequest<object>()));
    return next.handle();
  }
}

@Controller()
class View {
  @Get() @Throttle([AnonRateThrottle]) get() {
    return 'ok';
  }
}

describe.each(PLATFORMS)('an app on %s', (platform) => {
  it('keeps no request object alive after its response, including denied ones', async () => {
    alive.length = 0;
    const t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { anon: '50/min' } })],
      controllers: [View],
      providers: [{ provide: APP_INTERCEPTOR, useClass: WatchRequests }],
    });
    try {
      const statuses = [];
      for (let i = 0; i < 100; i++) statuses.push((await t.request('/')).status);
      expect(statuses.filter((s) => s === 429)).toHaveLength(50);
      await collect();
      // Only interceptors on allowed requests saw a request; a keep-alive connection may hold the last one.
      expect(alive.length).toBe(50);
      expect(alive.filter((ref) => ref.deref() !== undefined).length).toBeLessThanOrEqual(2);
    } finally {
      await t.close();
    }
  });

  it('closes without leaving a handle open', async () => {
    const count = (list: string[]) => {
      const counts: Record<string, number> = {};
      for (const resource of list) counts[resource] = (counts[resource] ?? 0) + 1;
      return counts;
    };
    const before = count(process.getActiveResourcesInfo());
    const t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { anon: '5/min' } })],
      controllers: [View],
    });
    for (let i = 0; i < 10; i++) await t.request('/');
    await t.close();
    const leaked = () =>
      Object.entries(count(process.getActiveResourcesInfo())).filter(([kind, n]) => n > (before[kind] ?? 0));
    // The client side of the keep-alive sockets closes a moment after the server.
    // Generous on a loaded machine: a leak stays, a closing socket goes.
    for (let i = 0; i < 250 && leaked().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(leaked()).toEqual([]);
  });

  it('a wall clock jumping backwards or forwards neither blocks nor frees a client', async () => {
    const t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { anon: '3/min' } })],
      controllers: [View],
    });
    const realNow = Date.now.bind(Date);
    try {
      for (let i = 0; i < 3; i++) expect((await t.request('/')).status).toBe(200);
      const back = jest.spyOn(Date, 'now').mockImplementation(() => realNow() - 3_600_000);
      expect((await t.request('/')).status).toBe(429);
      back.mockImplementation(() => realNow() + 3_600_000);
      const response = await t.request('/');
      expect(response.status).toBe(429);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(55);
    } finally {
      jest.restoreAllMocks();
      await t.close();
    }
  });
});
