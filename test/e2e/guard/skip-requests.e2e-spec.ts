/**
 * Module-level `skipIf(context)` (sync or async) and `ignoreUserAgents` (issue 21 item 6): applied to every
 * throttle of every route without subclassing; a skipped request is neither throttled nor counted (no key is
 * written, no header sent). Outside HTTP the user agent is GraphQL's HTTP request's and a WebSocket
 * handshake's; a microservice message has none. Wrong types stop the app at startup.
 */
import { jest } from '@jest/globals';
import { Controller, ForbiddenException, Get, type ExecutionContext } from '@nestjs/common';
import {
  AnonRateThrottle,
  ImproperlyConfiguredError,
  MemoryThrottleStore,
  RestflowThrottleModule,
  Throttle,
  UserRateThrottle,
  type RestflowThrottleOptions,
  type ThrottleRequest,
} from 'restflow-throttle';
import { PLATFORMS, startApp, type Platform, type TestApp } from '../../helpers/http-app';
import { gql, graphqlApp } from '../../helpers/contexts/graphql-app';
import { startGatewayApp, WS_TRANSPORTS } from '../../helpers/contexts/gateway-app';
import { connect } from '../../helpers/contexts/ws-clients';
import { startMicroservice } from '../../helpers/contexts/microservice-app';

@Controller('sk')
class SkipController {
  @Get('two') @Throttle([AnonRateThrottle, UserRateThrottle]) two() {
    return 'two';
  }
  @Get('health') @Throttle([AnonRateThrottle]) health() {
    return 'ok';
  }
}

/** The memory store, remembering every key it was asked about. */
function recordingStore(): MemoryThrottleStore & { keys: string[] } {
  const store = new MemoryThrottleStore();
  const keys: string[] = [];
  const hit = store.hit.bind(store);
  jest.spyOn(store, 'hit').mockImplementation((key, ...rest) => (keys.push(key), hit(key, ...rest)));
  return Object.assign(store, { keys });
}

const internal = (context: ExecutionContext) =>
  context.switchToHttp().getRequest<ThrottleRequest>().headers['x-internal'] === 'yes';

describe.each(PLATFORMS)('skipIf and ignoreUserAgents over HTTP on %s', (platform) => {
  let t: TestApp | undefined;
  let store: ReturnType<typeof recordingStore>;
  afterEach(() => t?.close());
  const start = async (options: Partial<RestflowThrottleOptions>) => {
    store = recordingStore();
    t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { anon: '2/min', user: '5/min' }, cache: store, ...options })],
      controllers: [SkipController],
    });
    return t;
  };
  const statuses = async (path: string, n: number, headers: Record<string, string> = {}) => {
    const result: number[] = [];
    for (let i = 0; i < n; i++) result.push((await (t as TestApp).request(path, { headers })).status);
    return result;
  };

  it('skipIf (sync): a request it returns true for is not throttled and not counted, by any throttle', async () => {
    await start({ skipIf: internal, headers: 'legacy' });
    expect(await statuses('/sk/two', 5, { 'x-internal': 'yes' })).toEqual([200, 200, 200, 200, 200]);
    expect(store.keys).toEqual([]);
    const skipped = await (t as TestApp).request('/sk/two', { headers: { 'x-internal': 'yes' } });
    expect(skipped.headers.get('x-ratelimit-limit')).toBeNull();
    // The others' counts start from nothing.
    expect(await statuses('/sk/two', 3)).toEqual([200, 200, 429]);
  });

  it('skipIf (async), given the ExecutionContext: a promise of true skips, of false throttles', async () => {
    const seen: string[] = [];
    await start({
      skipIf: async (context) => {
        seen.push(`${context.getType()} ${context.getClass().name}.${context.getHandler().name}`);
        return context.getHandler().name === 'health';
      },
    });
    expect(await statuses('/sk/health', 4)).toEqual([200, 200, 200, 200]);
    expect(await statuses('/sk/two', 3)).toEqual([200, 200, 429]);
    expect(seen).toContain('http SkipController.health');
    expect(seen).toContain('http SkipController.two');
    expect(store.keys.every((key) => !key.includes('health'))).toBe(true);
  });

  it('ignoreUserAgents: a matching User-Agent is not throttled (a global pattern too), any other is', async () => {
    await start({ ignoreUserAgents: [/googlebot/gi, /^uptime-probe\//] });
    const bot = { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1)' };
    expect(await statuses('/sk/health', 6, bot)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(await statuses('/sk/health', 3, { 'user-agent': 'uptime-probe/1.0' })).toEqual([200, 200, 200]);
    expect(store.keys).toEqual([]);
    expect(await statuses('/sk/health', 3, { 'user-agent': 'curl/8.0' })).toEqual([200, 200, 429]);
  });

  it('both: the user agent first, then skipIf', async () => {
    const skipIf = jest.fn(internal);
    await start({ skipIf, ignoreUserAgents: [/bot/] });
    expect(await statuses('/sk/health', 3, { 'user-agent': 'bot' })).toEqual([200, 200, 200]);
    expect(skipIf).not.toHaveBeenCalled();
    expect(await statuses('/sk/health', 3, { 'x-internal': 'yes' })).toEqual([200, 200, 200]);
    expect(await statuses('/sk/health', 3)).toEqual([200, 200, 429]);
  });

  it("what skipIf throws or rejects is that request's error, and only that request's", async () => {
    await start({
      skipIf: (context) => {
        const header = context.switchToHttp().getRequest<ThrottleRequest>().headers['x-fail'];
        if (header === 'sync') throw new ForbiddenException('no');
        return header === 'async' ? Promise.reject(new ForbiddenException('no')) : false;
      },
    });
    expect(await statuses('/sk/health', 1, { 'x-fail': 'sync' })).toEqual([403]);
    expect(await statuses('/sk/health', 1, { 'x-fail': 'async' })).toEqual([403]);
    expect(await statuses('/sk/health', 3)).toEqual([200, 200, 429]);
  });
});

describe.each(PLATFORMS)('skipIf and ignoreUserAgents outside HTTP on %s', (platform: Platform) => {
  it("GraphQL: the user agent of the operation's HTTP request", async () => {
    const t = await startApp(platform, graphqlApp(platform, { ignoreUserAgents: [/crawler/] }));
    try {
      const as = (agent: string) => gql(t.url, '{ article { id } }', { 'user-agent': agent });
      for (let i = 0; i < 5; i++) expect((await as('friendly-crawler')).errors).toEqual([]);
      const others = [];
      for (let i = 0; i < 4; i++) others.push((await as('browser')).errors.map((e) => e.extensions?.code));
      expect(others).toEqual([[], [], [], ['THROTTLED']]);
    } finally {
      await t.close();
    }
  });

  it.each(WS_TRANSPORTS)('WebSockets (%s): the user agent of the handshake', async (transport) => {
    const t = await startGatewayApp(platform, transport, { ignoreUserAgents: [/crawler/] });
    try {
      const crawler = await connect(transport, t.url, { 'user-agent': 'friendly-crawler' });
      const browser = await connect(transport, t.url, { 'user-agent': 'browser' });
      const crawled = [];
      for (let i = 0; i < 4; i++) crawled.push((await crawler.send('chat', 'hi')).event);
      expect(crawled).toEqual(['chat', 'chat', 'chat', 'chat']);
      const browsed = [];
      for (let i = 0; i < 3; i++) browsed.push((await browser.send('chat', 'hi')).event);
      expect(browsed).toEqual(['chat', 'chat', 'exception']);
      crawler.close();
      browser.close();
    } finally {
      await t.close();
    }
  });
});

it('microservices: a message has no user agent, so ignoreUserAgents never skips one; skipIf still applies', async () => {
  const m = await startMicroservice('tcp', { ignoreUserAgents: [/.*/] });
  try {
    const client = await m.client();
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await m.send(client, 'sum', [1, 2]).then(String, () => 'refused'));
    expect(answers).toEqual(['3', '3', 'refused']);
  } finally {
    await m.close();
  }
  const n = await startMicroservice('tcp', { skipIf: (context) => context.getType() === 'rpc' });
  try {
    const client = await n.client();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await n.send(client, 'sum', [1, 2]).then(String, () => 'refused'));
    expect(answers).toEqual(['3', '3', '3', '3']);
  } finally {
    await n.close();
  }
});

describe('startup validation', () => {
  const codeOf = (options: unknown) => {
    try {
      RestflowThrottleModule.forRoot(options as RestflowThrottleOptions);
    } catch (error) {
      expect(error).toBeInstanceOf(ImproperlyConfiguredError);
      return [(error as ImproperlyConfiguredError).code, (error as Error).message];
    }
    return ['none', ''];
  };

  it('skipIf must be a function; ignoreUserAgents an array of regular expressions', () => {
    expect(codeOf({ skipIf: true })).toEqual([
      'RFT_INVALID_SKIP_OPTION',
      'RestflowThrottleModule: skipIf must be a function of the ExecutionContext returning a boolean, got true.',
    ]);
    expect(codeOf({ ignoreUserAgents: /bot/ })[0]).toBe('RFT_INVALID_SKIP_OPTION');
    expect(codeOf({ ignoreUserAgents: [/bot/, 'Googlebot/2.1'] })).toEqual([
      'RFT_INVALID_SKIP_OPTION',
      'RestflowThrottleModule: ignoreUserAgents[1] must be a regular expression, got "Googlebot/2.1" ' +
        "(write /Googlebot\\/2.1/i, or new RegExp(text, 'i')).",
    ]);
    expect(codeOf({ skipIf: () => false, ignoreUserAgents: [] })).toEqual(['none', '']);
  });
});
