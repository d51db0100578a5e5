/**
 * Why several processes need a shared cache, shown with real processes:
 * 4 Node processes serve the same Nest app (limit 100 per minute), and 400
 * concurrent requests from one client are spread over them, first with the
 * default in-memory cache, then with Redis: through cache-manager 5 +
 * cache-manager-ioredis-yet, then in every other form an app may hold it
 * (Nest's CacheModule on @keyv/redis, cache-manager 7 on @keyv/valkey,
 * node-redis, iovalkey and ioredis clients given directly).
 *
 *   npx ts-node --transpile-only test/redis/demos/multi-process.ts
 *
 * Starts its own redis-server on a free port, or uses REDIS_URL when set.
 * Exits non-zero unless every Redis form admits exactly 100 of the 400.
 */
import { RedisServer } from '../../helpers/redis-server';
import { CLIENT_FAMILIES, runClientFamily } from '../../helpers/processes/clients-multi-process';
import { runMultiProcess, type MultiProcessResult } from '../../helpers/processes/multi-process-run';

const PROCESSES = 4;
const REQUESTS = 400;
const RATE = '100/min';

async function main(): Promise<void> {
  const server = process.env.REDIS_URL ? undefined : await RedisServer.start();
  const redisUrl = process.env.REDIS_URL ?? server?.url;
  try {
    console.log(`${PROCESSES} processes, ${REQUESTS} concurrent requests from one client, limit ${RATE}\n`);
    report('in-memory cache', await runMultiProcess({ processes: PROCESSES, requests: REQUESTS, rate: RATE }));
    const runs: Array<[string, () => Promise<MultiProcessResult>]> = [
      [
        'Redis, cache-manager 5 + ioredis-yet',
        () => runMultiProcess({ redisUrl, processes: PROCESSES, requests: REQUESTS, rate: RATE }),
      ],
      ...CLIENT_FAMILIES.map((client): [string, () => Promise<MultiProcessResult>] => [
        `Redis, ${client}`,
        () =>
          runClientFamily({
            client,
            redisUrl: redisUrl as string,
            processes: PROCESSES,
            requests: REQUESTS,
            rate: RATE,
          }),
      ]),
    ];
    for (const [label, run] of runs) {
      const shared = await run();
      report(label, shared);
      if (shared.statuses[200] !== 100 || shared.statuses[429] !== 300) {
        console.error(`\n${label} should have admitted exactly 100: something is wrong.`);
        process.exitCode = 1;
      }
    }
  } finally {
    await server?.dispose();
  }
}

function report(label: string, result: MultiProcessResult): void {
  const statuses = Object.entries(result.statuses)
    .map(([status, n]) => `${n} x ${status}`)
    .join(', ');
  console.log(
    `${label.padEnd(40)} ${statuses.padEnd(24)} admitted per process: ${result.admittedPerProcess.join(' / ')}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
