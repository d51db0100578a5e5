/**
 * The worst clients: malformed and huge headers, forged identities by the
 * thousand. No 500s, bounded printable keys, no raw API key in a key, and the
 * process keeps serving.
 */
import { Controller, Get } from '@nestjs/common';
import { jest } from '@jest/globals';
import {
  AnonRateThrottle,
  MemoryThrottleStore,
  RestflowThrottleModule,
  SimpleRateThrottle,
  Throttle,
  type ThrottleRequest,
} from 'restflow-throttle';
import { PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';
import { rawGet } from '../../helpers/raw-http';

/** The seed's ApiKeyRateThrottle, written as a user would. */
class ApiKeyRateThrottle extends SimpleRateThrottle {
  override scope = 'api_key';
  getCacheKey(request: ThrottleRequest): string | null {
    const apiKey = request.headers['x-api-key'];
    if (typeof apiKey !== 'string' || apiKey === '') return null;
    return this.formatKey(apiKey);
  }
}

@Controller()
class View {
  @Get('anon') @Throttle([AnonRateThrottle]) anon() {
    return 'ok';
  }
  @Get('key') @Throttle([ApiKeyRateThrottle, AnonRateThrottle]) key() {
    return 'ok';
  }
}

const LONG_KEY = `sk_live_${'A1b2C3d4'.repeat(1024)}`; // 8 KB

/** A memory store that remembers every key it was asked about. */
function recordingStore(): { store: MemoryThrottleStore; keys: Set<string> } {
  const store = new MemoryThrottleStore();
  const keys = new Set<string>();
  const hit = store.hit.bind(store);
  jest.spyOn(store, 'hit').mockImplementation((key, ...rest) => {
    keys.add(key);
    return hit(key, ...rest);
  });
  return { store, keys };
}

function expectSafeKeys(keys: string[]): void {
  for (const key of keys) {
    expect(Buffer.byteLength(key)).toBeLessThanOrEqual(250);
    expect(key).toMatch(/^[\x21-\x7e]+$/);
    expect(key).not.toContain('A1b2C3d4A1b2C3d4');
  }
}

describe.each(PLATFORMS)('hostile clients on %s', (platform) => {
  describe.each([undefined, 1])('numProxies %s', (numProxies) => {
    let t: TestApp;
    let port: number;
    let keys: Set<string>;
    beforeEach(async () => {
      const recording = recordingStore();
      keys = recording.keys;
      t = await startApp(platform, {
        imports: [
          RestflowThrottleModule.forRoot({
            rates: { anon: '100000/min', api_key: '1000/min' },
            numProxies,
            cache: recording.store,
          }),
        ],
        controllers: [View],
      });
      port = Number(new URL(t.url).port);
    });
    afterEach(() => t.close());

    it('malformed, binary and huge header values never cause a 500', async () => {
      const lines: Array<string | Buffer> = [
        'X-Forwarded-For: 1.1.1.1\rInjected: yes',
        'X-Forwarded-For: 1.1.1.1\nInjected: yes',
        'X-API-Key: abc\r\nX-Forwarded-For: 9.9.9.9',
        Buffer.from('X-Forwarded-For: 1.1.1.1\u0000evil', 'latin1'),
        Buffer.from('X-API-Key: k\u0000ey', 'latin1'),
        Buffer.from('X-Forwarded-For: \u00ff\u00fe, 2.2.2.2', 'latin1'),
        Buffer.concat([Buffer.from('X-API-Key: '), Buffer.from('ключ-🔑', 'utf8')]),
        Buffer.concat([Buffer.from('X-Forwarded-For: '), Buffer.from('🙂, ::1', 'utf8')]),
        `X-API-Key: ${LONG_KEY}`,
        `X-Forwarded-For: ${','.repeat(8000)}`,
        `X-Forwarded-For: ${'1.2.3.4, '.repeat(900)}`,
        `X-Forwarded-For: ${'f'.repeat(8000)}`,
        'X-Forwarded-For:',
        'X-Forwarded-For:    ',
        'X-API-Key:',
      ];
      for (const path of ['/anon', '/key']) {
        for (const line of lines) {
          const status = await rawGet(port, path, [line]);
          expect([200, 400, 431]).toContain(status);
        }
      }
      expect((await t.request('/key', { headers: { 'x-api-key': 'still-serving' } })).status).toBe(200);
      expectSafeKeys([...keys]);
    });

    it('an 8 KB API key is hashed: it still counts, but never appears in a cache key', async () => {
      for (let i = 0; i < 3; i++) {
        expect((await t.request('/key', { headers: { 'x-api-key': LONG_KEY } })).status).toBe(200);
      }
      const seen = [...keys];
      expectSafeKeys(seen);
      expect(seen.filter((k) => k.startsWith('throttle_api_key_h:'))).toHaveLength(1);
    });

    it('thousands of forged identities over keep-alive connections: no 500, bounded keys, still serving', async () => {
      const statuses = new Set<number>();
      for (let batch = 0; batch < 20; batch++) {
        const responses = await Promise.all(
          Array.from({ length: 100 }, (_, i) => {
            const n = batch * 100 + i;
            return t.request('/key', {
              headers: {
                'x-forwarded-for': `10.${n >> 16}.${(n >> 8) & 255}.${n & 255}, ${'z'.repeat(n % 300)}`,
                'x-api-key': `key-${n}-${'q'.repeat(n % 500)}`,
              },
            });
          }),
        );
        for (const response of responses) statuses.add(response.status);
      }
      expect([...statuses]).toEqual([200]);
      const seen = [...keys];
      expectSafeKeys(seen);
      // Unset numProxies: the forged header is ignored, so one anon bucket; numProxies 1: the right-most entry.
      const anonKeys = seen.filter((k) => k.startsWith('throttle_anon_'));
      expect(anonKeys.length).toBe(numProxies === undefined ? 1 : 300);
      expect((await t.request('/anon')).status).toBe(200);
    });
  });
});

describe.each(PLATFORMS)('forged identity forms behind one proxy, on %s', (platform) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { anon: '5/min', api_key: null }, numProxies: 1 })],
      controllers: [View],
    });
  });
  afterEach(() => t.close());

  async function admitted(forwardedFor: (i: number) => string): Promise<number> {
    let ok = 0;
    for (let i = 0; i < 20; i++) {
      const response = await t.request('/anon', { headers: { 'x-forwarded-for': forwardedFor(i) } });
      expect([200, 429]).toContain(response.status);
      if (response.status === 200) ok++;
    }
    return ok;
  }

  it('a fresh IPv6 address per request within one /64 is one client', async () => {
    expect(await admitted((i) => `2001:db8:7:7:${((i * 7919) & 0xffff).toString(16)}:${i.toString(16)}:0:1`)).toBe(5);
  });

  it('a fresh port per request, or the IPv4-mapped form, is one client', async () => {
    expect(
      await admitted((i) =>
        i % 3 === 0 ? `203.0.113.9:${1000 + i}` : i % 3 === 1 ? '::FFFF:203.0.113.9' : `[::ffff:203.0.113.9]:${i}`,
      ),
    ).toBe(5);
  });
});
