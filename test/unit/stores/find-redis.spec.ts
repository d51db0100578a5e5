/**
 * Which caches get the startup warning "shared between processes, but only
 * get/set: the limit holds per process only". Real in-process caches and
 * real Redis-backed ones (which get the atomic path) do not; stores that
 * keep data elsewhere and cannot be driven atomically do, by name.
 */
import KeyvRedis from '@keyv/redis';
import { caching, memoryStore } from 'cache-manager';
import { createCache as createCacheV6 } from 'cache-manager-v6';
import { Redis as IoRedis } from 'ioredis';
import { Keyv } from 'keyv';
import { createClient, createSentinel } from 'redis';
import { createCache as createCacheV7, Keyv as KeyvEsm } from 'restflow-fixture-nest-cache-manager';
import {
  findRedisConnection,
  sharedGetSetStoreName,
  warnIfSharedGetSetCache,
} from '../../../lib/stores/redis/find-redis';
import { MemoryThrottleStore } from '../../../lib/stores/memory/memory.store';
import { Controller, Get } from '@nestjs/common';
import { AnonRateThrottle, RestflowThrottleModule, Throttle } from 'restflow-throttle';
import { CapturingLogger, startApp } from '../../helpers/http-app';

/** A Keyv store adapter that talks to a database server, as @keyv/postgres does: no Redis client to reach. */
class KeyvPostgres {
  opts = { dialect: 'postgres', url: 'postgresql://db/app' };
  namespace?: string;
  on() {
    return this;
  }
  async get() {
    return undefined;
  }
  async set() {
    return true;
  }
  async delete() {
    return true;
  }
  async clear() {}
}

/** A cache-manager 5 store on memcached: get/set only. */
const memcachedStore = {
  name: 'memcached',
  get: async () => undefined,
  set: async () => undefined,
  del: async () => undefined,
};

describe('caches kept in this process are not shared', () => {
  it.each([
    ['Keyv with its default Map', () => new Keyv()],
    ['cache-manager 7 with no store (Nest CacheModule default)', () => createCacheV7()],
    ['cache-manager 7 on an explicit Keyv Map', () => createCacheV7({ stores: [new KeyvEsm({ store: new Map() })] })],
    ['cache-manager 6 with no store', () => createCacheV6()],
    ['cache-manager 5 memory store', () => caching(memoryStore())],
    ['cache-manager 5 via caching("memory")', () => caching('memory')],
    [
      'a plain { get, set } object (nothing tells where it keeps data)',
      () => ({ get: async () => undefined, set: async () => undefined }),
    ],
    [
      'the module memory store',
      () => ({ get: async () => undefined, set: async () => undefined, store: new MemoryThrottleStore() }),
    ],
  ])('%s', async (_name, make) => {
    expect(sharedGetSetStoreName(await make())).toBeUndefined();
  });
});

describe('caches driven atomically through their Redis client are not reported', () => {
  it.each([
    ['an ioredis client', () => new IoRedis('redis://127.0.0.1:1', { lazyConnect: true })],
    ['a node-redis client', () => createClient({ url: 'redis://127.0.0.1:1' })],
    ['a Keyv on @keyv/redis', () => new Keyv({ store: new KeyvRedis('redis://127.0.0.1:1') })],
    [
      'cache-manager 7, memory tier then @keyv/redis',
      () => createCacheV7({ stores: [new KeyvEsm(), new KeyvEsm({ store: new KeyvRedis('redis://127.0.0.1:1') })] }),
    ],
  ])('%s', (_name, make) => {
    expect(sharedGetSetStoreName(make())).toBeUndefined();
  });
});

describe('shared caches that only get/set are reported, by name', () => {
  it('a Keyv on an unknown server store (@keyv/postgres)', () => {
    expect(sharedGetSetStoreName(new Keyv({ store: new KeyvPostgres() }))).toBe('Keyv store KeyvPostgres');
  });

  it('cache-manager 7 (Nest CACHE_MANAGER) with a memory tier over a database tier', () => {
    const cache = createCacheV7({ stores: [new KeyvEsm(), new KeyvEsm({ store: new KeyvPostgres() })] });
    expect(sharedGetSetStoreName(cache)).toBe('Keyv store KeyvPostgres');
  });

  it('a Keyv on @keyv/redis over a Sentinel client (not driven atomically: get/set)', () => {
    const sentinel = createSentinel({ name: 'mymaster', sentinelRootNodes: [{ host: '127.0.0.1', port: 1 }] });
    expect(findRedisConnection(sentinel)).toBeUndefined();
    expect(
      sharedGetSetStoreName(
        new Keyv({ store: new KeyvRedis({ name: 'mymaster', sentinelRootNodes: [{ host: '127.0.0.1', port: 1 }] }) }),
      ),
    ).toBe('Keyv store KeyvRedis');
  });

  it('a Keyv Redis store whose client cannot be reached', () => {
    const store = Object.assign(new KeyvPostgres(), { client: { sentinel: true } });
    Object.defineProperty(store, 'constructor', { value: class KeyvRedisSentinel {} });
    expect(sharedGetSetStoreName(new Keyv({ store }))).toBe('Keyv store KeyvRedisSentinel');
  });

  it('a cache-manager 5 cache on memcached', async () => {
    const cache = await caching(memcachedStore as never);
    expect(sharedGetSetStoreName(cache)).toBe('cache-manager store "memcached"');
  });
});

describe('the startup warning', () => {
  it('names the cache and its store, and says the limit holds per process only', () => {
    const warnings: string[] = [];
    warnIfSharedGetSetCache(new Keyv({ store: new KeyvPostgres() }), 'throttling', {
      warn: (message: string) => warnings.push(message),
    });
    expect(warnings).toEqual([
      "Throttle cache 'throttling' (Keyv store KeyvPostgres) is shared between processes but only offers get/set: each process counts on its own, " +
        'so the limits hold per process only. Give the module a Redis client for one exact limit across processes (docs/caches.md).',
    ]);
  });

  it('says nothing for an in-process cache or a Redis one', () => {
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message) };
    warnIfSharedGetSetCache(createCacheV7(), 'default', logger);
    warnIfSharedGetSetCache(new Keyv({ store: new KeyvRedis('redis://127.0.0.1:1') }), 'default', logger);
    expect(warnings).toEqual([]);
  });
});

describe('through the module', () => {
  it('a shared get/set cache gets exactly one startup warning naming it; an in-process one none', async () => {
    @Controller('shared')
    class SharedController {
      @Get() @Throttle([AnonRateThrottle]) a() {
        return 'ok';
      }
      @Get('b') @Throttle([AnonRateThrottle]) b() {
        return 'ok';
      }
    }
    const warningsWith = async (cache: object) => {
      const logger = new CapturingLogger();
      const t = await startApp(
        'express',
        {
          imports: [RestflowThrottleModule.forRoot({ rates: { anon: '5/min' }, cache: cache as never })],
          controllers: [SharedController],
        },
        logger,
      );
      await t.close();
      return logger.warnings.filter((w) => w.includes('only offers get/set'));
    };
    const shared = await warningsWith(new Keyv({ store: new KeyvPostgres() }));
    expect(shared).toEqual([
      expect.stringMatching(/^Throttle cache 'default' \(.+\) is shared between processes but only offers get\/set/),
    ]);
    expect(await warningsWith(await caching(memoryStore()))).toEqual([]);
  });
});
