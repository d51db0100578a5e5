/**
 * Microservices (issue 11, item 4): throttled handlers raise an RPC error
 * carrying DRF's detail, the code and the wait, which the client receives.
 * TCP keys on the peer address; Redis has no sender address, so every
 * producer shares one bucket per scope unless `getIdent()` keys on a field of
 * the message. Real microservices, real ClientProxy clients, and a
 * redis-server of the test's own.
 */
import { jest } from '@jest/globals';
import { AnonRateThrottle, SimpleRateThrottle } from 'restflow-throttle';
import { CapturingLogger, FakeClock } from '../helpers/http-app';
import { RedisServer } from '../helpers/redis-server';
import { until } from '../helpers/until';
import {
  MathController,
  startMicroservice,
  type RpcTransport,
  type TestMicroservice,
} from '../helpers/contexts/microservice-app';

const throttled = (seconds: number) => ({
  status: 'error',
  message: `Request was throttled. Expected available in ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`,
  code: 'THROTTLED',
  retryAfter: seconds,
});

/** The reply, or the error the client received. */
const outcome = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );

describe.each<RpcTransport>(['tcp', 'redis'])('microservices over %s', (transport) => {
  const clock = new FakeClock();
  let redis: RedisServer | undefined;
  let m: TestMicroservice;
  beforeAll(async () => {
    jest.spyOn(SimpleRateThrottle.prototype, 'timer').mockImplementation(() => clock.now);
    if (transport === 'redis') redis = await RedisServer.start();
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await redis?.dispose();
  });
  afterEach(() => m.close());

  it('a throttled message pattern raises an RPC error with the detail, the code and the wait', async () => {
    m = await startMicroservice(transport, {}, redis?.port);
    const client = await m.client();
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await outcome(m.send(client, 'sum', [1, 2, i])));
    expect(answers).toEqual([{ value: 3 }, { value: 4 }, { error: throttled(60) }]);
    clock.advance(45);
    expect(await outcome(m.send(client, 'sum', [1]))).toEqual({ error: throttled(15) });
    clock.advance(16);
    expect(await outcome(m.send(client, 'sum', [1]))).toEqual({ value: 1 });
  });

  it('@SkipThrottle opts a handler out of the controller throttles', async () => {
    m = await startMicroservice(transport, {}, redis?.port);
    const client = await m.client();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await outcome(m.send(client, 'health', {})));
    expect(answers).toEqual(Array(4).fill({ value: 'ok' }));
  });

  it(`the default ident: ${transport === 'tcp' ? 'the peer address, shared by clients on one host' : 'no address, so every producer shares one bucket'}`, async () => {
    m = await startMicroservice(transport, {}, redis?.port);
    const idents = jest.spyOn(AnonRateThrottle.prototype, 'getIdent');
    try {
      const first = await m.client();
      const second = await m.client();
      expect(await outcome(m.send(first, 'sum', [1]))).toEqual({ value: 1 });
      expect(await outcome(m.send(second, 'sum', [2]))).toEqual({ value: 2 });
      expect(await outcome(m.send(first, 'sum', [3]))).toEqual({ error: throttled(60) });
      expect(idents.mock.results.map((r) => r.value)).toEqual(
        Array(3).fill(transport === 'tcp' ? '127.0.0.1' : 'redis'),
      );
    } finally {
      idents.mockRestore();
    }
  });

  it('getIdent() keys on a field of the message: one bucket per tenant', async () => {
    m = await startMicroservice(transport, {}, redis?.port);
    const client = await m.client();
    expect(await outcome(m.send(client, 'report', { tenantId: 'acme' }))).toEqual({ value: 'report for acme' });
    expect(await outcome(m.send(client, 'report', { tenantId: 'acme' }))).toEqual({ error: throttled(60) });
    expect(await outcome(m.send(client, 'report', { tenantId: 'globex' }))).toEqual({ value: 'report for globex' });
  });

  it('a throttled event pattern is not handled, and Nest logs the RPC error it has no reply to carry', async () => {
    const logger = new CapturingLogger();
    m = await startMicroservice(transport, {}, redis?.port, logger);
    const client = await m.client();
    const controller = m.app.get(MathController);
    for (const entry of ['a', 'b', 'c'])
      await outcome(m.send(client, 'health', {})).then(() => client.emit('audit', entry).subscribe());
    // A message after the events, on the same connection: once it is answered, the events before it were dispatched.
    await until('the first two events are handled', () => controller.audited.length === 2);
    expect(await outcome(m.send(client, 'health', {}))).toEqual({ value: 'ok' });
    expect(controller.audited).toEqual(['a', 'b']);
    await until('the third event is reported', () => logger.errors.length > 0);
    expect(logger.errors.join('\n')).toContain('Request was throttled. Expected available in 60 seconds.');
  });
});
