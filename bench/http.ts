import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildMessage } from './child';
import { usesRedis, type BenchConfig, type Limiter, type Platform } from './config';
import type { LoadResult } from './load';
import { startChild, type RedisServer } from './procs';
import { summariseProfile } from './profile';
import type { ProfiledRun } from './summary';

export interface Scenario {
  platform: Platform;
  limiter: Limiter;
  /** Distinct client keys (1 or `manyKeys`). */
  keys: number;
}

export interface HttpSample extends Scenario {
  round: number;
  result: LoadResult;
  /** The server's RSS at the end of the run, bytes. */
  serverRss: number;
  /** CPU seconds the server used during the measured run. */
  serverCpu: number;
  /** CPU seconds redis-server used during the measured run (Redis variants). */
  redisCpu?: number;
}

/** redis-server's CPU time so far, in seconds (INFO cpu). */
function redisCpuSeconds(redis: RedisServer): number {
  const info = redis.cli('INFO', 'cpu');
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
}

function isType<T extends ChildMessage['type']>(...types: T[]) {
  return (message: ChildMessage): message is Extract<ChildMessage, { type: T }> => (types as string[]).includes(message.type);
}

/**
 * One measured run: a fresh server process (core `serverCore`), a fresh load
 * generator process (core `loadCore`, with redis-server), a warm-up, the
 * measurement, then the server is stopped. A fresh process per run keeps one
 * run's state (JIT, logs, Redis keys) from helping or hurting the next.
 */
export async function runScenario(
  config: BenchConfig,
  scenario: Scenario,
  redis: RedisServer | undefined,
  nodeFlags: string[] = [],
): Promise<{ result: LoadResult; serverRss: number; serverCpu: number; redisCpu?: number }> {
  const withRedis = usesRedis(scenario.limiter) ? redis : undefined;
  if (usesRedis(scenario.limiter)) {
    if (withRedis === undefined) throw new Error(`${scenario.limiter} needs redis-server`);
    withRedis.flush();
  }
  const script = join(config.buildDir, 'child.js');
  const appOptions = { platform: scenario.platform, limiter: scenario.limiter, redisPort: redis?.port, root: config.root };
  const server = startChild<ChildMessage>(script, ['server', JSON.stringify(appOptions)], config.serverCore, nodeFlags);
  try {
    const ready = await server.next(isType('ready', 'error'), 60_000);
    if (ready.type === 'error') throw new Error(`server failed: ${ready.message}`);
    const loadOptions = {
      url: `http://127.0.0.1:${ready.port}/`,
      connections: config.connections,
      duration: config.duration,
      warmup: config.warmup,
      keys: scenario.keys,
    };
    // The server's CPU time over the measured run: requests per CPU-second hardly moves when
    // other work on the machine takes the server's core away, unlike requests per second.
    const serverCpu = async (): Promise<number> => {
      server.send({ type: 'cpu' });
      return (await server.next(isType('cpu'), 30_000)).micros;
    };
    const load = startChild<ChildMessage>(script, ['load', JSON.stringify(loadOptions)], config.loadCore);
    const limit = (config.warmup + config.duration) * 1000 + 60_000;
    const measuring = await load.next(isType('measuring', 'error'), limit);
    if (measuring.type === 'error') throw new Error(`load generator failed: ${measuring.message}`);
    const cpuBefore = await serverCpu();
    const redisBefore = withRedis && redisCpuSeconds(withRedis);
    const answer = await load.next(isType('result', 'error'), limit);
    const cpuAfter = await serverCpu();
    const redisAfter = withRedis && redisCpuSeconds(withRedis);
    await load.exited;
    if (answer.type === 'error') throw new Error(`load generator failed: ${answer.message}`);
    server.send({ type: 'stop' });
    const stopped = await server.next(isType('stopped'), 30_000);
    await server.exited;
    return {
      result: answer.result as LoadResult,
      serverRss: stopped.rss,
      serverCpu: (cpuAfter - cpuBefore) / 1e6,
      ...(redisBefore !== undefined && redisAfter !== undefined ? { redisCpu: redisAfter - redisBefore } : {}),
    };
  } finally {
    if (server.process.exitCode === null) server.process.kill('SIGKILL');
  }
}

/** 2xx answers per CPU-second of the server. */
export function okPerCpu(sample: { result: LoadResult; serverCpu: number }): number {
  return sample.serverCpu > 0 ? (sample.result.total - sample.result.non2xx) / sample.serverCpu : NaN;
}

/** Every scenario of the matrix, in a fixed order. */
export function scenarios(config: BenchConfig): Scenario[] {
  const list: Scenario[] = [];
  for (const platform of config.platforms) {
    for (const keys of [1, config.manyKeys]) {
      for (const limiter of config.limiters) list.push({ platform, limiter, keys });
    }
  }
  return list;
}

/**
 * The interleaved matrix: each round runs every scenario once, and the
 * limiters of a (platform, keys) group take turns with their no-guard
 * baseline, in an order rotated every round, so that drift and other load on
 * the machine fall on all of them alike. Ratios are taken within a round.
 */
export async function runHttpMatrix(
  config: BenchConfig,
  redis: RedisServer | undefined,
  log: (line: string) => void,
): Promise<HttpSample[]> {
  const samples: HttpSample[] = [];
  const all = scenarios(config);
  let done = 0;
  for (let round = 0; round < config.rounds; round++) {
    for (const platform of config.platforms) {
      for (const keys of [1, config.manyKeys]) {
        const group = config.limiters.map((limiter) => ({ platform, limiter, keys }));
        const shift = round % group.length;
        for (const scenario of [...group.slice(shift), ...group.slice(0, shift)]) {
          const measured = await runScenario(config, scenario, redis);
          const { result, serverCpu } = measured;
          samples.push({ ...scenario, round, ...measured });
          done++;
          log(
            `[${done}/${all.length * config.rounds}] round ${round + 1} ${platform} keys=${keys} ${scenario.limiter}: ` +
              `${Math.round(result.rps)} req/s, ${Math.round(okPerCpu({ result, serverCpu }))} req/CPU-s, p50 ${result.p50} ms, p99 ${result.p99} ms` +
              (result.non2xx || result.errors ? `, non-2xx ${result.non2xx}, errors ${result.errors}` : ''),
          );
        }
      }
    }
  }
  return samples;
}

/** One run under `node --cpu-prof`, summarised. */
export async function profileScenario(
  config: BenchConfig,
  scenario: Scenario,
  redis: RedisServer | undefined,
  label: string,
): Promise<ProfiledRun> {
  const dir = join(config.buildDir, 'profiles', `${scenario.platform}-${scenario.limiter}-${scenario.keys}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // A profile needs less time than a throughput median: at most 3 s measured.
  const short = { ...config, duration: Math.min(config.duration, 3) };
  const { result, serverCpu } = await runScenario(short, scenario, redis, ['--cpu-prof', '--cpu-prof-dir', dir]);
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no .cpuprofile written in ${dir}`);
  // Only the measured run: start-up and warm-up are left out.
  const summary = summariseProfile(join(dir, file), label, { fromUs: result.startedUs, toUs: result.endedUs });
  return { ...summary, scenario, rps: result.rps, cpuPerRequestUs: (serverCpu * 1e6) / (result.total - result.non2xx) };
}
