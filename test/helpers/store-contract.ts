import { Controller, Get, type Type } from '@nestjs/common';
import {
  RestflowThrottleModule,
  SimpleRateThrottle,
  Throttle,
  type ThrottleCache,
  type ThrottleRequest,
} from 'restflow-throttle';
import { Logger } from '@nestjs/common';
import { MemoryThrottleStore, type ThrottleStore } from 'restflow-throttle';
import { storeForCache } from '../../lib/stores/store-for-cache';
import { FakeClock, startApp, type HttpResponse, type TestApp } from './http-app';
import { ALL_CAPABILITIES, describeSeamContract, type StoreCapability } from './store-seam-contract';

/** The cache under test, and how to let go of it. `cache: undefined` is the module's default. */
export interface ContractCache {
  cache?: ThrottleCache;
  close?(): Promise<void>;
}

/** A throttle keyed by the `x-client` header: every test case picks its own bucket. */
export abstract class ClientHeaderThrottle extends SimpleRateThrottle {
  getCacheKey(request: ThrottleRequest): string | null {
    return this.formatKey(String(request.headers['x-client']));
  }
}

/**
 * A client-header throttle for `scope`, counting in the log named by `cacheFormat`, on the contract's fake clock
 * (the module's `clock`: it drives Redis too). Keys stay unique per case, so a Redis that outlives a case cannot
 * leak counts into the next.
 */
function clocked(scope: string, cacheFormat = 'throttle_{scope}_{ident}'): Type<ClientHeaderThrottle> {
  return class extends ClientHeaderThrottle {
    override scope = scope;
    override cacheFormat = cacheFormat;
  };
}

const PerSecond = clocked('c_sec');
const PerMinute = clocked('c_min');
const Fifty = clocked('c_fifty');
/** Huge and Gate count in one log: Gate reads how long Huge's log grew. */
const Huge = clocked('c_huge', 'throttle_big_{ident}');
const Gate = clocked('c_gate', 'throttle_big_{ident}');
/** Five and Three count in one log, to reach a log longer than a limit. */
const SharedFive = clocked('c_five', 'throttle_shared_{ident}');
const SharedThree = clocked('c_three', 'throttle_shared_{ident}');

/** GCRA throttles: constant memory per key, a burst of N then one every duration / N. */
function gcra(scope: string): Type<ClientHeaderThrottle> {
  return class extends clocked(scope) {
    override algorithm = 'gcra' as const;
  };
}
const GcraMinute = gcra('g_min');
const GcraFifty = gcra('g_fifty');

const RATES = {
  g_min: '3/min',
  g_fifty: '50/min',
  c_sec: '3/sec',
  c_min: '3/min',
  c_fifty: '50/min',
  c_huge: '100000/min',
  c_gate: '600/min',
  c_five: '5/min',
  c_three: '3/min',
};

@Controller('contract')
class ContractViews {
  @Get('sec') @Throttle([PerSecond]) sec() {
    return 'ok';
  }
  @Get('min') @Throttle([PerMinute]) min() {
    return 'ok';
  }
  @Get('fifty') @Throttle([Fifty]) fifty() {
    return 'ok';
  }
  @Get('huge') @Throttle([Huge]) huge() {
    return 'ok';
  }
  @Get('gate') @Throttle([Gate]) gate() {
    return 'ok';
  }
  @Get('five') @Throttle([SharedFive]) five() {
    return 'ok';
  }
  @Get('three') @Throttle([SharedThree]) three() {
    return 'ok';
  }
  @Get('gcra') @Throttle([GcraMinute]) gcra() {
    return 'ok';
  }
  @Get('gcra-fifty') @Throttle([GcraFifty]) gcraFifty() {
    return 'ok';
  }
}

let clients = 0;

/**
 * The behaviour every cache must show, through the real guard and HTTP:
 * DRF's sliding log, its `wait()` values, exact admission under concurrency
 * and a limit of 100000, and GCRA's burst, spacing and exact waits. Run for the default memory cache, a get/set
 * cache-manager cache, Redis and Redis Cluster, so they cannot drift apart.
 * Then the store seam's cases (store-seam-contract.ts) on the store the module picks for the cache, for the
 * `capabilities` it must have (default: all; a store must not have an optional method it does not claim).
 */
export function describeStoreContract(
  name: string,
  makeCache: () => Promise<ContractCache>,
  capabilities: readonly StoreCapability[] = ALL_CAPABILITIES,
): void {
  describe(`store contract: ${name}`, () => {
    const clock = new FakeClock(1_000_000);
    let t: TestApp;
    let env: ContractCache;
    let client: string;

    /** The store the module would pick for this cache, without a refusal cache in front: the seam's own answers. */
    let store: ThrottleStore;

    beforeAll(async () => {
      env = await makeCache();
      store =
        env.cache === undefined
          ? new MemoryThrottleStore()
          : storeForCache(env.cache, {
              name: 'contract',
              policy: 'deny',
              timeoutMs: 10_000,
              logger,
              refusalCache: false,
            });
      t = await startApp('express', {
        imports: [RestflowThrottleModule.forRoot({ rates: RATES, cache: env.cache, clock: () => clock.now })],
        controllers: [ContractViews],
      });
    });
    afterAll(async () => {
      await t?.close();
      await env?.close?.();
    });
    beforeEach(() => {
      client = `c${process.pid}-${Date.now()}-${++clients}`;
      clock.now = 1_000_000 + clients * 1000;
    });

    const hit = (path: string): Promise<HttpResponse> =>
      t.request(`/contract/${path}`, { headers: { 'x-client': client } });
    const statuses = async (path: string, n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await hit(path)).status);
      return out;
    };

    it('3/sec admits three, denies the fourth, and admits again once the first is 1 s old', async () => {
      expect(await statuses('sec', 3)).toEqual([200, 200, 200]);
      const denied = await hit('sec');
      expect(denied.status).toBe(429);
      expect(denied.headers.get('retry-after')).toBe('1');
      clock.advance(0.5);
      expect((await hit('sec')).status).toBe(429);
      clock.advance(0.5); // the first three are now exactly `duration` old: dropped
      expect(await statuses('sec', 4)).toEqual([200, 200, 200, 429]);
    });

    it('3/min at t=0,0,0: the fourth waits the whole 60 s', async () => {
      expect(await statuses('min', 3)).toEqual([200, 200, 200]);
      const denied = await hit('min');
      expect(denied.status).toBe(429);
      expect(denied.headers.get('retry-after')).toBe('60');
      expect(denied.body).toEqual({ detail: 'Request was throttled. Expected available in 60 seconds.' });
    });

    it("waits follow DRF's formula as the window slides", async () => {
      for (const step of [0, 10, 10]) {
        clock.advance(step);
        expect((await hit('min')).status).toBe(200); // t = 0, 10, 20
      }
      clock.advance(10); // t = 30: oldest is t = 0, 30 s left
      expect((await hit('min')).headers.get('retry-after')).toBe('30');
      clock.advance(30); // t = 60: t = 0 has left the window
      expect((await hit('min')).status).toBe(200);
      clock.advance(5); // t = 65: log 10, 20, 60; oldest leaves in 5 s
      expect((await hit('min')).headers.get('retry-after')).toBe('5');
    });

    it('denied requests are not recorded', async () => {
      expect(await statuses('min', 3)).toEqual([200, 200, 200]);
      expect(await statuses('min', 5)).toEqual([429, 429, 429, 429, 429]);
      clock.advance(60);
      expect(await statuses('min', 4)).toEqual([200, 200, 200, 429]);
    });

    it('no wait estimate when the log is longer than the limit', async () => {
      expect(await statuses('five', 5)).toEqual([200, 200, 200, 200, 200]);
      const denied = await hit('three');
      expect(denied.status).toBe(429);
      expect(denied.headers.get('retry-after')).toBeNull();
      expect(denied.body).toEqual({ detail: 'Request was throttled.' });
    });

    it('200 concurrent requests on one key with a limit of 50 admit exactly 50', async () => {
      const all = await Promise.all(Array.from({ length: 200 }, () => hit('fifty')));
      const counts = tally(all.map((r) => r.status));
      expect(counts).toEqual({ 200: 50, 429: 150 });
    });

    it('GCRA 3/min: a burst of three, then one every 20 s, Retry-After the exact wait', async () => {
      expect(await statuses('gcra', 3)).toEqual([200, 200, 200]);
      expect((await hit('gcra')).headers.get('retry-after')).toBe('20');
      clock.advance(10);
      const denied = await hit('gcra');
      expect(denied.status).toBe(429);
      expect(denied.headers.get('retry-after')).toBe('10');
      clock.advance(10);
      expect(await statuses('gcra', 2)).toEqual([200, 429]);
      clock.advance(60);
      expect(await statuses('gcra', 4)).toEqual([200, 200, 200, 429]); // idle a minute: the whole burst is back
    });

    it('GCRA: 200 concurrent requests with a limit of 50 admit exactly 50', async () => {
      const all = await Promise.all(Array.from({ length: 200 }, () => hit('gcra-fifty')));
      expect(tally(all.map((r) => r.status))).toEqual({ 200: 50, 429: 150 });
    });

    it('a limit of 100000 counts like any other', async () => {
      const all: number[] = [];
      for (let round = 0; round < 6; round++) {
        all.push(...(await Promise.all(Array.from({ length: 100 }, () => hit('huge')))).map((r) => r.status));
      }
      expect(tally(all)).toEqual({ 200: 600 });
      // All 600 are in the log: a 600/min throttle on the same log is full.
      expect((await hit('gate')).headers.get('retry-after')).toBe('60');
    });

    // The store is read when the cases run: it is made in beforeAll.
    describeSeamContract(() => store, capabilities);
  });
}

const logger = new Logger('StoreContract');

export function tally(statuses: readonly number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}
