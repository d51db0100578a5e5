/**
 * IPv6 clients end to end: a dual-stack server keys IPv4 clients by their
 * IPv4 address (not `::ffff:...`) and IPv6 clients by their /64; the
 * `ipv6Subnet` option widens, narrows or turns off the grouping; an IPv6
 * address that carries an IPv4 client (NAT64) is keyed by that client.
 */
import 'reflect-metadata';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { jest } from '@jest/globals';
import {
  AnonRateThrottle,
  MemoryThrottleStore,
  RestflowThrottleModule,
  Throttle,
  type RestflowThrottleOptions,
} from 'restflow-throttle';
import { PLATFORMS, type Platform } from '../../helpers/http-app';

@Controller()
class View {
  @Get() @Throttle([AnonRateThrottle]) get() {
    return 'ok';
  }
}

interface DualStackApp {
  app: INestApplication;
  port: number;
  keys: string[];
}

/** The app on `::` (both IPv4 and IPv6), with a memory store that records the keys it is asked about. */
async function startDualStack(platform: Platform, options: RestflowThrottleOptions): Promise<DualStackApp> {
  const store = new MemoryThrottleStore();
  const keys: string[] = [];
  const hit = store.hit.bind(store);
  jest.spyOn(store, 'hit').mockImplementation((key, ...rest) => {
    keys.push(key);
    return hit(key, ...rest);
  });
  const moduleRef = await Test.createTestingModule({
    imports: [RestflowThrottleModule.forRoot({ ...options, cache: store })],
    controllers: [View],
  }).compile();
  const app =
    platform === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
      : moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '::');
  return { app, port: (app.getHttpServer().address() as { port: number }).port, keys };
}

async function statuses(
  url: string,
  n: number,
  headers: (i: number) => Record<string, string> = () => ({}),
): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < n; i++) result.push((await fetch(url, { headers: headers(i) })).status);
  return result;
}

describe.each(PLATFORMS)('IPv6 clients on %s', (platform) => {
  let server: DualStackApp | undefined;
  afterEach(async () => {
    await server?.app.close();
    server = undefined;
  });

  it('a dual-stack server: IPv4 clients by their IPv4 address, IPv6 clients by their /64, each its own bucket', async () => {
    server = await startDualStack(platform, { rates: { anon: '2/min' } });
    expect(await statuses(`http://127.0.0.1:${server.port}/`, 3)).toEqual([200, 200, 429]);
    expect(await statuses(`http://[::1]:${server.port}/`, 3)).toEqual([200, 200, 429]);
    expect(new Set(server.keys)).toEqual(new Set(['throttle_anon_ip:127.0.0.1', 'throttle_anon_ip:::/64']));
  });

  it('NAT64 clients by the IPv4 address they carry: two clients, two buckets; one, its plain bucket', async () => {
    server = await startDualStack(platform, { rates: { anon: '2/min' }, numProxies: 1 });
    const url = `http://127.0.0.1:${server.port}/`;
    const from = (client: string) => () => ({ 'x-forwarded-for': `198.51.100.7, ${client}` });
    expect(await statuses(url, 3, from('64:ff9b::192.0.2.1'))).toEqual([200, 200, 429]);
    // Another IPv4 client behind the same translator (the same /64): a bucket of its own.
    expect(await statuses(url, 1, from('64:FF9B::C000:202'))).toEqual([200]);
    // The same IPv4 client reaching the server directly: the same bucket, one request left.
    expect(await statuses(url, 2, from('192.0.2.2'))).toEqual([200, 429]);
    expect(new Set(server.keys)).toEqual(new Set(['throttle_anon_ip:192.0.2.1', 'throttle_anon_ip:192.0.2.2']));
  });

  const rotating = (hextet: (i: number) => number) => (i: number) => ({
    'x-forwarded-for': `2001:db8:7:${hextet(i).toString(16)}::${(i + 1).toString(16)}`,
  });

  it('ipv6Subnet 48: rotating across the /64s of one /48 is one client', async () => {
    server = await startDualStack(platform, { rates: { anon: '5/min' }, numProxies: 1, ipv6Subnet: 48 });
    const result = await statuses(
      `http://127.0.0.1:${server.port}/`,
      12,
      rotating((i) => i),
    );
    expect(result.filter((s) => s === 200)).toHaveLength(5);
    expect(new Set(server.keys)).toEqual(new Set(['throttle_anon_ip:2001:db8:7::/48']));
  });

  it('the default /64 tells those /64s apart', async () => {
    server = await startDualStack(platform, { rates: { anon: '5/min' }, numProxies: 1 });
    const result = await statuses(
      `http://127.0.0.1:${server.port}/`,
      12,
      rotating((i) => i),
    );
    expect(result).toEqual(Array(12).fill(200));
    expect(server.keys[3]).toBe('throttle_anon_ip:2001:db8:7:3::/64');
  });

  it('ipv6Subnet false: every address is its own client', async () => {
    server = await startDualStack(platform, { rates: { anon: '5/min' }, numProxies: 1, ipv6Subnet: false });
    const result = await statuses(
      `http://127.0.0.1:${server.port}/`,
      12,
      rotating(() => 1),
    );
    expect(result).toEqual(Array(12).fill(200));
    expect(server.keys[0]).toBe('throttle_anon_ip:2001:db8:7:1::1');
  });
});
