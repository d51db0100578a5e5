/**
 * `npm run bench` (about 7 minutes on 2 quiet cores): HTTP throughput against
 * @nestjs/throttler in interleaved rounds, the decision micro-benchmark,
 * memory per key and the Lua worst case, written to bench/RESULTS.md with the
 * commit measured; it refuses to write from a dirty tree. `BENCH_QUICK=1` is
 * a smoke run of every part, written to the temp dir, from any tree.
 * The server runs pinned to core 0; autocannon (this process) and
 * redis-server to core 1.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { LIMITERS, renderReport, targets, type Results } from './report';
import { clientAddress, dirtyTreeRefusal, type HttpSample } from './stats';

const QUICK = process.env.BENCH_QUICK === '1';
const S = QUICK
  ? { rounds: 1, warmup: 1, seconds: 1, keys: 1000, connections: 50, decisionSeconds: 0.1, worstEntries: 30_000, memoryKeys: 1000 }
  : { rounds: 3, warmup: 1, seconds: 3, keys: 10_000, connections: 50, decisionSeconds: 0.5, worstEntries: 300_000, memoryKeys: 20_000 };
const BUILD = join('bench', '.build');
const PIN = availableParallelism() > 1 && spawnSync('taskset', ['--version']).status === 0;
const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

/** `command args`, pinned to `core` when taskset can. */
function pinned(core: number, command: string, args: string[]) {
  return spawn(PIN ? 'taskset' : command, PIN ? ['-c', String(core), command, ...args] : args, { stdio: ['ignore', 'pipe', 'inherit'] });
}

/** An engine task (bench/engine.ts) in a fresh process on the server's core: its JSON answer. */
async function engine<T>(task: string, settings: object, redisPort: number): Promise<T> {
  const child = pinned(0, process.execPath, ['--expose-gc', join(BUILD, 'engine.js'), task, String(redisPort), JSON.stringify(settings)]);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`engine ${task} ${JSON.stringify(settings)} failed (${String(code)})`);
  return JSON.parse(out.trim().split('\n').pop() as string) as T;
}

/** CPU seconds a process has used (Linux /proc, 100 ticks a second). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** autocannon; with many keys, each connection cycles through its own slice of client addresses. */
async function load(port: number, keys: number, seconds: number) {
  const slice = Math.ceil(keys / S.connections);
  const requests = (c: number) => Array.from({ length: slice }, (_, j) => ({ method: 'GET' as const, path: '/', headers: { 'x-forwarded-for': clientAddress((c * slice + j) % keys) } }));
  let next = 0;
  const r = await autocannon({ url: `http://127.0.0.1:${port}/`, connections: S.connections, duration: seconds, requests: requests(0), setupClient: (client) => client.setRequests(requests(next++)) });
  if (r.non2xx + r.errors > 0) throw new Error(`${r.non2xx} non-2xx answers and ${r.errors} errors: every limiter must allow every request`);
  return { ok: r['2xx'], seconds: r.duration };
}

/** One HTTP run: a fresh server process (bench/server.ts), a warm-up, then the measured run. */
async function httpRun(platform: string, limiter: string, keys: number, round: number, redis: Redis): Promise<HttpSample> {
  redis.cli('FLUSHALL');
  const server = pinned(0, process.execPath, [join(BUILD, 'server.js'), platform, limiter, String(redis.port)]);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.stdout.on('data', (chunk: Buffer) => /ready (\d+)/.test(chunk.toString()) && resolve(Number(/ready (\d+)/.exec(chunk.toString())?.[1])));
      server.on('exit', (code) => reject(new Error(`server ${platform} ${limiter} exited (${String(code)})`)));
    });
    await load(port, keys, S.warmup);
    const cpuBefore = cpuSeconds(server.pid as number);
    const { ok, seconds } = await load(port, keys, S.seconds);
    return { platform, keys, limiter, round, rps: ok / seconds, cpuPerRequest: (cpuSeconds(server.pid as number) - cpuBefore) / ok };
  } finally {
    server.kill('SIGKILL');
  }
}

interface Redis { port: number; version: string; cli: (...args: string[]) => string; stop: () => void }
/** The bench's own redis-server on a free port, no persistence. */
async function startRedis(): Promise<Redis> {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as { port: number };
      probe.close(() => resolve(free));
    });
  });
  const server = pinned(1, 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', mkdtempSync(join(tmpdir(), 'bench-redis-'))]);
  server.stdout.resume(); // its log, unread: a full pipe would stall it
  const cli = (...argv: string[]) => spawnSync('redis-cli', ['-p', String(port), ...argv], { encoding: 'utf8' }).stdout?.trim() ?? '';
  for (let i = 0; cli('PING') !== 'PONG'; i++) {
    if (i > 100) throw new Error('redis-server did not start (is it installed? apt-get install redis-server)');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { port, version: /redis_version:(\S+)/.exec(cli('INFO', 'server'))?.[1] ?? '?', cli, stop: () => server.kill() };
}

const version = (name: string, from = '.') => (JSON.parse(readFileSync(join(from, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

async function main(): Promise<void> {
  const refusal = QUICK ? null : dirtyTreeRefusal(git('status', '--porcelain'));
  if (refusal) throw new Error(refusal);
  const commit = git('rev-parse', '--short=12', 'HEAD');
  // bench/.build is a package of its own, so `restflow-throttle` is the copy the npm script built there, not dist/.
  writeFileSync(join(BUILD, 'package.json'), JSON.stringify({ name: 'restflow-throttle-bench', private: true }));
  writeFileSync(join(BUILD, 'node_modules', 'restflow-throttle', 'package.json'), JSON.stringify({ name: 'restflow-throttle', main: 'dist/index.js' }));
  if (!existsSync(join('bench', 'competitors', 'node_modules', '@nest-lab'))) execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--prefix', join('bench', 'competitors')], { stdio: 'inherit' });
  if (PIN) execFileSync('taskset', ['-acp', '1', String(process.pid)], { stdio: 'ignore' });
  const redis = await startRedis();
  const started = Date.now();
  const r: Omit<Results, 'minutes'> = {
    commit,
    quick: QUICK,
    environment: `Node ${process.version}, ${cpus()[0]?.model ?? '?'} x ${cpus().length}${PIN ? ' (server on core 0; autocannon and redis-server on core 1)' : ' (not pinned)'}, redis-server ${redis.version}, @nestjs/core ${version('@nestjs/core')}, @nestjs/throttler ${version('@nestjs/throttler')}, @nest-lab/throttler-storage-redis ${version('@nest-lab/throttler-storage-redis', join('bench', 'competitors'))}.`,
    settings: S,
    samples: [],
    decisions: [],
    memory: [],
    worst: { entries: 0, worstScriptUs: NaN, unexpected: 0 },
  };
  try {
    for (let round = 0; round < S.rounds; round++)
      for (const platform of ['fastify', 'express'])
        for (const keys of [1, S.keys])
          for (const limiter of [...LIMITERS.slice(round % 5), ...LIMITERS.slice(0, round % 5)]) {
            r.samples.push(await httpRun(platform, limiter, keys, round, redis));
            log(`round ${round + 1}/${S.rounds} ${platform}, ${keys} client(s), ${limiter}: ${Math.round(r.samples[r.samples.length - 1].rps)} req/s`);
          }
    for (const store of ['memory', 'redis'])
      for (const algorithm of ['sliding-log', 'gcra'])
        for (const limit of [10, 100_000]) {
          log(`decisions: ${store}, ${algorithm}, ${limit}/day`);
          r.decisions.push(await engine('decisions', { store, algorithm, limit, seconds: S.decisionSeconds, rounds: S.rounds }, redis.port));
        }
    for (const store of ['memory', 'redis'])
      for (const algorithm of ['sliding-log', 'gcra']) {
        // Full logs of the limit's timestamps; GCRA keys after a few hits. Heap growth needs many keys, MEMORY USAGE is exact.
        const [keys, hits] = algorithm === 'gcra' ? [store === 'memory' ? S.memoryKeys : 100, 10] : [store === 'memory' ? 3 : 1, 100_000];
        log(`memory: ${store}, ${algorithm}, ${keys} keys x ${hits} hits`);
        r.memory.push(await engine('memory', { store, algorithm, limit: 100_000, keys, hits }, redis.port));
      }
    log(`Lua worst case: ${S.worstEntries} entries expiring at once`);
    r.worst = await engine('worst', { entries: S.worstEntries }, redis.port);
  } finally {
    redis.stop();
  }
  if (!QUICK && (git('rev-parse', '--short=12', 'HEAD') !== commit || dirtyTreeRefusal(git('status', '--porcelain')))) {
    throw new Error(`The tree changed while the bench ran (from ${commit}); nothing written. Rerun on a quiet, clean tree.`);
  }
  const out = QUICK ? join(tmpdir(), 'restflow-bench-quick.md') : join('bench', 'RESULTS.md');
  const results = { ...r, minutes: (Date.now() - started) / 60_000 };
  writeFileSync(out, renderReport(results));
  for (const [goal, measured, met] of targets(results)) log(`${met ? 'met   ' : 'MISSED'} ${goal}: ${measured}`);
  log(`wrote ${out}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
