/**
 * The multi-process proof (also runnable by hand: test/redis/demos/multi-process.ts):
 * 4 Node processes serve the same Nest app, each on its own port; 400
 * concurrent requests from one client are spread over all 4 at a limit of
 * 100 per minute.
 */
import { runMultiProcess } from '../helpers/processes/multi-process-run';
import { RedisServer } from '../helpers/redis-server';

let server: RedisServer;
beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(() => server?.dispose());

it('with Redis, the 4 processes admit exactly 100 of 400 between them, whatever their clocks say', async () => {
  // Clocks a minute and more apart: only the server's TIME keeps the processes in agreement.
  const result = await runMultiProcess({
    redisUrl: server.url,
    processes: 4,
    requests: 400,
    rate: '100/min',
    clockSkews: [0, 90, -90, 180],
  });
  expect(result.statuses).toEqual({ 200: 100, 429: 300 });
  expect(result.admittedPerProcess.reduce((a, b) => a + b, 0)).toBe(100);
}, 120_000);

it('with the in-memory cache, each process admits its own 100: 400 of 400 get through', async () => {
  const result = await runMultiProcess({ processes: 4, requests: 400, rate: '100/min' });
  expect(result.statuses).toEqual({ 200: 400 });
  expect(result.admittedPerProcess).toEqual([100, 100, 100, 100]);
}, 120_000);
