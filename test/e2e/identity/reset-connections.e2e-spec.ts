/**
 * Issue 9 item 5: a POST whose connection is reset right after sending must
 * be counted in its client's own bucket (the address it arrived from), never
 * in a shared `unknown` one, and its handler runs only within the limit.
 */
import { execFileSync } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Body, Controller, Injectable, Post, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { jest } from '@jest/globals';
import { AnonRateThrottle, MemoryThrottleStore, RestflowThrottleModule, Throttle } from 'restflow-throttle';
import { CapturingLogger, PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';
import { until } from '../../helpers/until';

/** Requests that reached the guards, and how many went past the connection's reset. */
const arrivals = new EventEmitter();
let pastReset = 0;
let handled = 0;

/**
 * Stands for any slow step before the throttles (authentication, a body
 * parser): it tells the test the request is in, and lets it go on only once
 * the client has reset the connection (requests marked X-Test-Reset). It
 * never reads the address itself.
 */
@Injectable()
class AfterTheReset implements CanActivate {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, unknown>; socket?: Socket; raw?: { socket: Socket } }>();
    if (request.headers['x-test-reset'] === undefined) return true;
    const socket = request.raw?.socket ?? request.socket!;
    // Not events.once(): the reset also emits 'error' (ECONNRESET), which would reject it.
    const closed = new Promise((resolve) => (socket.destroyed ? resolve(null) : socket.once('close', resolve)));
    arrivals.emit('arrived');
    await closed;
    pastReset++;
    return true;
  }
}

@Controller()
class Submit {
  @Post('submit') @Throttle([AnonRateThrottle]) submit(@Body() body: unknown) {
    handled++;
    return body;
  }
}

/** Sends a whole POST, waits until the server holds it, then resets the connection (TCP RST). */
async function postThenReset(port: number): Promise<void> {
  const body = '{"n":1}';
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const arrived = once(arrivals, 'arrived');
  socket.write(
    `POST /submit HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Test-Reset: 1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
  await arrived;
  socket.resetAndDestroy();
}

describe.each(PLATFORMS)('connections reset right after sending, on %s', (platform) => {
  let t: TestApp;
  let store: MemoryThrottleStore;
  let keys: string[];

  beforeEach(async () => {
    pastReset = 0;
    handled = 0;
    store = new MemoryThrottleStore();
    keys = [];
    const hit = store.hit.bind(store);
    jest.spyOn(store, 'hit').mockImplementation((key, ...rest) => {
      keys.push(key);
      return hit(key, ...rest);
    });
    t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { anon: '5/min' }, cache: store })],
      controllers: [Submit],
      providers: [{ provide: APP_GUARD, useClass: AfterTheReset }],
    });
  });
  afterEach(() => t.close());

  it("50 aborted POSTs at anon 5/min: the handler runs 5 times, all counted in the client's own bucket", async () => {
    const port = Number(new URL(t.url).port);
    for (let i = 0; i < 50; i++) {
      await postThenReset(port);
      await until(`request ${i + 1} went past its reset`, () => pastReset === i + 1);
    }
    expect(new Set(keys)).toEqual(new Set(['throttle_anon_ip:127.0.0.1']));
    expect(handled).toBe(5);
    // The same client, on a connection that stays: its own bucket is full.
    const response = await fetch(`${t.url}/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"n":2}',
    });
    expect(response.status).toBe(429);
    expect(handled).toBe(5);
  });
});

/**
 * A client that sends and resets at once can do it before the server accepts the connection: the
 * operating system then has no peer address left to give, not even to the module's accept hook. Such
 * a request is refused (never counted under a shared key, its handler never run), and quietly: the
 * client is gone, and an error log line per request would let any client flood the logs.
 */
describe.each(PLATFORMS)('a connection reset before the server accepts it, on %s', (platform) => {
  it('is refused without running the handler, counting anything, or logging an error', async () => {
    const store = new MemoryThrottleStore();
    const hit = jest.spyOn(store, 'hit');
    const logger = new CapturingLogger();
    let arrived = 0;
    const t = await startApp(
      platform,
      {
        imports: [RestflowThrottleModule.forRoot({ rates: { anon: '5/min' }, cache: store })],
        controllers: [Submit],
        // Runs before the throttles (theirs is always the last guard): the request reached Nest.
        providers: [{ provide: APP_GUARD, useValue: { canActivate: () => ++arrived > 0 } }],
      },
      logger,
    );
    try {
      handled = 0;
      const port = new URL(t.url).port;
      // Synchronous: this process (the server) accepts nothing until the client has sent, reset and exited.
      const body = '{"n":1}';
      const client = `const s = require('net').connect(${port}, '127.0.0.1', () => { s.write(${JSON.stringify(
        `POST /submit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      )}); s.resetAndDestroy(); }); s.on('error', () => {});`;
      execFileSync(process.execPath, ['-e', client]);
      await until('the request reached Nest', () => arrived === 1);
      await new Promise((resolve) => setImmediate(resolve)); // and its guards and exception filter are done
      expect(handled).toBe(0);
      expect(hit).not.toHaveBeenCalled();
      expect(logger.errors).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
