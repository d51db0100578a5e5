/**
 * Every form in which an app holds Redis is found, structurally, and driven
 * through the same RedisConnection: the client given directly (ioredis,
 * iovalkey, node-redis), a Keyv store (@keyv/redis, @keyv/valkey), a
 * cache-manager 5/6/7 cache over one. Each adapter runs against a real
 * redis-server: a pipelined batch of EVALSHA/EVAL answers one entry per
 * command, in order, Redis' own errors (NOSCRIPT) as entries.
 */
import KeyvRedis from '@keyv/redis';
import KeyvValkey from '@keyv/valkey';
import { caching } from 'cache-manager';
import { redisInsStore } from 'cache-manager-ioredis-yet';
import { createCache as createCacheV6 } from 'cache-manager-v6';
import { createHash } from 'node:crypto';
import { Cluster as IoRedisCluster, Redis as IoRedis } from 'ioredis';
import { Redis as IoValkey } from 'iovalkey';
import { Keyv } from 'keyv';
import { createClient, createCluster } from 'redis';
import { createClient as createClientV4, createCluster as createClusterV4 } from 'redis-v4';
import { createCache as createCacheV7, Keyv as KeyvEsm } from 'restflow-fixture-nest-cache-manager';
import { findRedisConnection } from '../../lib/stores/redis/find-redis';
import type { RedisClientLike } from '../../lib/stores/redis/clients/redis-client-like';
import type { RedisConnection } from '../../lib/stores/redis/redis-connection';
import { RedisServer } from '../helpers/redis-server';
import { until } from '../helpers/until';

const SCRIPT = "return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}";
const SHA = createHash('sha1').update(SCRIPT).digest('hex');

/** One way an app can hold Redis: what it hands the module, and how it lets go of it. */
interface Form {
  name: string;
  library: string;
  open(url: string): Promise<{ cache: unknown; close(): unknown }>;
}

const forms: Form[] = [
  {
    name: 'an ioredis client given directly',
    library: 'ioredis',
    open: async (url) => {
      const client = new IoRedis(url).on('error', () => undefined);
      return { cache: client, close: () => client.disconnect() };
    },
  },
  {
    name: 'an iovalkey client given directly',
    library: 'ioredis',
    open: async (url) => {
      const client = new IoValkey(url).on('error', () => undefined);
      return { cache: client, close: () => client.disconnect() };
    },
  },
  {
    name: 'a node-redis client given directly',
    library: 'node-redis',
    open: async (url) => {
      const client = await createClient({ url })
        .on('error', () => undefined)
        .connect();
      return { cache: client, close: () => client.destroy() };
    },
  },
  {
    name: 'a node-redis 4 client given directly',
    library: 'node-redis',
    open: async (url) => {
      const client = createClientV4({ url }).on('error', () => undefined);
      await client.connect();
      // node-redis 4 throws when disconnected twice.
      return { cache: client, close: () => (client.isOpen ? client.disconnect() : undefined) };
    },
  },
  {
    name: 'a cache-manager 5 cache whose store exposes a node-redis client as store.client (cache-manager-redis-yet)',
    library: 'node-redis',
    open: async (url) => {
      const client = await createClient({ url })
        .on('error', () => undefined)
        .connect();
      const store = {
        name: 'redis',
        client,
        get: async () => undefined,
        set: async () => undefined,
        del: async () => undefined,
      };
      return { cache: await caching(store as never), close: () => client.destroy() };
    },
  },
  {
    name: 'a Keyv on @keyv/redis (connected lazily)',
    library: 'node-redis',
    open: async (url) => {
      const store = new KeyvRedis(url);
      const keyv = new Keyv({ store }).on('error', () => undefined);
      return { cache: keyv, close: () => store.disconnect() };
    },
  },
  {
    name: 'a Keyv on @keyv/valkey',
    library: 'iovalkey',
    open: async (url) => {
      const store = new KeyvValkey(url);
      const keyv = new Keyv({ store }).on('error', () => undefined);
      return { cache: keyv, close: () => store.disconnect() };
    },
  },
  {
    name: 'a cache-manager 7 cache on @keyv/redis',
    library: 'node-redis',
    open: async (url) => {
      const store = new KeyvRedis(url);
      return { cache: createCacheV7({ stores: [new KeyvEsm({ store })] }), close: () => store.disconnect() };
    },
  },
  {
    name: 'a cache-manager 7 cache, memory tier first, @keyv/redis second',
    library: 'node-redis',
    open: async (url) => {
      const store = new KeyvRedis(url);
      return {
        cache: createCacheV7({ stores: [new KeyvEsm(), new KeyvEsm({ store })] }),
        close: () => store.disconnect(),
      };
    },
  },
  {
    name: 'a cache-manager 6 cache on @keyv/valkey',
    library: 'iovalkey',
    open: async (url) => {
      const store = new KeyvValkey(url);
      return { cache: createCacheV6({ stores: [new Keyv({ store })] }), close: () => store.disconnect() };
    },
  },
  {
    name: 'a cache-manager 5 cache on cache-manager-ioredis-yet',
    library: 'ioredis',
    open: async (url) => {
      const client = new IoRedis(url).on('error', () => undefined);
      return { cache: await caching(redisInsStore(client)), close: () => client.disconnect() };
    },
  },
];

let server: RedisServer;
beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(() => server?.dispose());

describe.each(forms)('$name', (form) => {
  let opened: Awaited<ReturnType<Form['open']>>;
  let connection: RedisConnection;
  beforeEach(async () => {
    await server.command('SCRIPT', 'FLUSH');
    opened = await form.open(server.url);
    const found = findRedisConnection(opened.cache);
    if (found === undefined) throw new Error(`no Redis connection found in ${form.name}`);
    connection = found;
  });
  afterEach(() => opened.close());

  it('is found, named, and answers a pipelined batch one entry per command, NOSCRIPT as an entry', async () => {
    expect(connection.library).toBe(form.library);
    expect(connection.cluster).toBe(false);
    const key = `clients:${form.name}`;
    const missing = await connection.send([
      ['EVALSHA', SHA, '1', key, 'a'],
      ['EVAL', SCRIPT, '1', key, 'b'],
    ]);
    expect(missing[0]).toBeInstanceOf(Error);
    expect((missing[0] as Error).message).toMatch(/^NOSCRIPT/);
    expect(missing[1]).toEqual([key, 'b', 1]);
    const replies = await connection.send(Array.from({ length: 5 }, (_, i) => ['EVALSHA', SHA, '1', key, `c${i}`]));
    expect(replies).toEqual(Array.from({ length: 5 }, (_, i) => [key, `c${i}`, i + 2]));
    expect(connection.isReady()).toBe(true);
  });

  it('writes a batch at once: 200 commands reach the server in a few reads, not 200', async () => {
    await connection.send([['EVAL', SCRIPT, '1', 'warm', 'x']]);
    const reads = async () => Number((await server.info('stats')).get('total_reads_processed'));
    const before = await reads();
    const replies = await connection.send(
      Array.from({ length: 200 }, (_, i) => ['EVALSHA', SHA, '1', `batch:${i % 7}`, String(i)]),
    );
    const after = await reads();
    expect(replies.filter((reply) => Array.isArray(reply))).toHaveLength(200);
    // The INFO calls themselves are two reads; a command-by-command client would need 200 more.
    expect(after - before).toBeLessThan(20);
  });

  it('is no longer ready once the app closes its client', async () => {
    await connection.send([['EVAL', SCRIPT, '1', 'ready', 'x']]);
    await opened.close();
    // ioredis and iovalkey reach the 'end' state on the socket's close event.
    await until('the connection is no longer ready', () => !connection.isReady());
  });
});

describe('a node-redis client the app has closed', () => {
  it('makes send() reject (the connection failed), not answer entries', async () => {
    const client = await createClient({ url: server.url })
      .on('error', () => undefined)
      .connect();
    const connection = findRedisConnection(client) as RedisConnection;
    client.destroy();
    await expect(connection.send([['EVAL', SCRIPT, '1', 'closed', 'x']])).rejects.toThrow(/closed/i);
  });

  it('is still told apart from a reply error when Redis answers an error itself', async () => {
    const client = await createClient({ url: server.url })
      .on('error', () => undefined)
      .connect();
    try {
      const connection = findRedisConnection(client) as RedisConnection;
      const [reply] = await connection.send([['EVAL', 'return redis.error_reply("BOOM from Lua")', '0']]);
      expect(reply).toBeInstanceOf(Error);
      expect((reply as Error).message).toBe('BOOM from Lua');
    } finally {
      client.destroy();
    }
  });
});

describe('the public type of a directly given client', () => {
  it('accepts every client family as it comes from its library', () => {
    const url = 'redis://127.0.0.1:1';
    const lazy = { lazyConnect: true } as const;
    // Type-level: `npm run typecheck` fails if a library's client stops fitting RedisClientLike.
    const rootNodes = [{ url }];
    const clients: RedisClientLike[] = [
      new IoRedis(url, lazy),
      new IoRedisCluster([url], { lazyConnect: true }),
      new IoValkey(url, lazy),
      createClient({ url }),
      createCluster({ rootNodes }),
      createClientV4({ url }),
      createClusterV4({ rootNodes }),
    ];
    expect(clients.map((client) => findRedisConnection(client)?.library)).toEqual([
      'ioredis',
      'ioredis',
      'ioredis',
      'node-redis',
      'node-redis',
      'node-redis',
      'node-redis',
    ]);
    expect(clients.map((client) => findRedisConnection(client)?.cluster)).toEqual([
      false,
      true,
      false,
      false,
      true,
      false,
      true,
    ]);
  });
});

describe('a Keyv on @keyv/redis that has not connected yet', () => {
  it('stays ready while its first sends connect it (no request is refused as an outage), and answers them all', async () => {
    const store = new KeyvRedis(server.url);
    try {
      const connection = findRedisConnection(new Keyv({ store }).on('error', () => undefined)) as RedisConnection;
      expect(connection.isReady()).toBe(true);
      const first = connection.send([['EVAL', SCRIPT, '1', 'lazy', 'a']]);
      expect(connection.isReady()).toBe(true);
      const second = connection.send([['EVAL', SCRIPT, '1', 'lazy', 'b']]);
      expect([await first, await second]).toEqual([[['lazy', 'a', 1]], [['lazy', 'b', 2]]]);
      expect(connection.isReady()).toBe(true);
    } finally {
      await store.disconnect();
    }
  });
});
