/**
 * `npm run bench` (about 9 minutes on 2 quiet cores): HTTP throughput against @nestjs/throttler in interleaved rounds,
 * the decision micro-benchmark, memory per key and the Lua worst case, written to bench/RESULTS.md with the commit
 * measured, only from a clean tree. `BENCH_QUICK=1`: a smoke run of every part, written to the temp dir, from any tree.
 * Server and engine processes run pinned to core 0; autocannon (this process) and redis-server to core 1.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import autocannon from 'autocannon';
import { LIMITERS, clientAddress, dirtyTreeRefusal, renderReport, targets, type Results } from './report';

const QUICK = process.env.BENCH_QUICK === '1';
const S = QUICK
  ? { rounds: 1, warmup: 1, seconds: 1, keys: 1000, connections: 50, decisionSeconds: 0.1, decisionRounds: 1, worstEntries: 30_000, memoryKeys: 1000 }
  : { rounds: 5, warmup: 1, seconds: 3, keys: 10_000, connections: 50, decisionSeconds: 0.5, decisionRounds: 3, worstEntries: 300_000, memoryKeys: 20_000 };
const PIN = cpus().length > 1 && spawnSync('taskset', ['--version']).status === 0;
let redisPort = 0;
const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trimEnd(); // porcelain lines start with a space
const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
const pinned = (core: number, command: string, args: string[]) => spawn(PIN ? 'taskset' : command, PIN ? ['-c', String(core), command, ...args] : args, { stdio: ['ignore', 'pipe', 'inherit'] });
const redisCli = (...args: string[]) => spawnSync('redis-cli', ['-p', String(redisPort), ...args], { encoding: 'utf8' }).stdout?.trim() ?? '';
const version = (name: string, from = '.') => (JSON.parse(readFileSync(`${from}/node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;

/** A process of bench/.build on core 0, and the first JSON line it prints (a server's port, an engine's result). */
function child<T>(file: string, ...args: string[]) {
  const proc = pinned(0, process.execPath, ['--expose-gc', `bench/.build/${file}`, ...args]);
  const answer = new Promise<T>((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => chunk.toString().split('\n').filter((line) => line.startsWith('{')).forEach((line) => resolve(JSON.parse(line) as T)));
    proc.on('exit', (code) => reject(new Error(`${file} ${args.join(' ')} exited (${String(code)})`)));
  });
  return { proc, answer };
}
const engine = (task: string, settings: object) => child<Record<string, number | string>>('engine.js', task, String(redisPort), JSON.stringify(settings)).answer;

/** autocannon for `seconds`; with many keys, each connection cycles through its own slice of client addresses. */
async function load(port: number, keys: number, seconds: number) {
  const slice = Math.ceil(keys / S.connections);
  const requests = (c: number) => Array.from({ length: slice }, (_, j) => ({ method: 'GET' as const, path: '/', headers: { 'x-forwarded-for': clientAddress((c * slice + j) % keys) } }));
  let next = 0;
  const r = await autocannon({ url: `http://127.0.0.1:${port}/`, connections: S.connections, duration: seconds, requests: requests(0), setupClient: (client) => client.setRequests(requests(next++)) });
  if (r.non2xx + r.errors > 0) throw new Error(`${r.non2xx} non-2xx answers and ${r.errors} errors: every limiter must allow every request`);
  return { ok: r['2xx'], seconds: r.duration };
}

/** One HTTP run on a fresh server process: a warm-up, then requests/s and server CPU seconds per request (/proc: 100 ticks a second). */
async function httpRun(platform: string, limiter: string, keys: number, round: number) {
  redisCli('FLUSHALL');
  const { proc, answer } = child<{ port: number }>('server.js', platform, limiter, String(redisPort));
  const cpu = () => readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13).reduce((sum, ticks) => sum + Number(ticks) / 100, 0);
  try {
    const { port } = await answer;
    await load(port, keys, S.warmup);
    const cpuBefore = cpu();
    const { ok, seconds } = await load(port, keys, S.seconds);
    return { platform, keys, limiter, round, rps: ok / seconds, cpu: (cpu() - cpuBefore) / ok };
  } finally {
    proc.kill('SIGKILL');
  }
}

/** The bench's own redis-server on a free port, on core 1, without persistence. */
async function startRedis() {
  if (spawnSync('redis-server', ['--version']).error) throw new Error('redis-server is not installed (apt-get install redis-server); the bench starts its own.');
  redisPort = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo; // null once closed
      probe.close(() => resolve(port));
    });
  });
  const redis = pinned(1, 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', mkdtempSync(`${tmpdir()}/bench-redis-`)]);
  redis.stdout.resume(); // its log, unread: a full pipe would stall it
  for (let i = 0; redisCli('PING') !== 'PONG'; i++) {
    if (i > 100 || redis.exitCode !== null) {
      redis.kill();
      throw new Error(`redis-server did not start on port ${redisPort}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return redis;
}

async function measure(r: Results): Promise<void> {
  for (let round = 0; round < S.rounds; round++)
    for (const platform of ['fastify', 'express'])
      for (const keys of [1, S.keys])
        for (const limiter of [...LIMITERS.slice(round % 5), ...LIMITERS.slice(0, round % 5)]) {
          r.samples.push(await httpRun(platform, limiter, keys, round));
          log(`round ${round + 1}/${S.rounds} ${platform}, ${keys} client(s), ${limiter}: ${Math.round(r.samples.at(-1)!.rps)} req/s`);
        }
  for (const store of ['memory', 'redis'])
    for (const algorithm of ['sliding-log', 'gcra']) {
      log(`decisions and memory per key: ${store}, ${algorithm}`);
      for (const limit of [10, 100_000]) r.decisions.push(await engine('decisions', { store, algorithm, limit, seconds: S.decisionSeconds, rounds: S.decisionRounds }));
      // Full logs of the limit's timestamps; GCRA keys after a few hits. Heap growth needs many keys, MEMORY USAGE is exact.
      const [keys, hits] = algorithm === 'gcra' ? [store === 'memory' ? S.memoryKeys : 100, 10] : [store === 'memory' ? 3 : 1, 100_000];
      r.memory.push(await engine('memory', { store, algorithm, limit: 100_000, keys, hits }));
    }
  log(`Lua worst case: ${S.worstEntries} entries expiring at once`);
  r.worst = (await engine('worst', { store: 'redis', algorithm: 'sliding-log', limit: S.worstEntries })) as Results['worst'];
}

async function main(): Promise<void> {
  const refusal = QUICK ? null : dirtyTreeRefusal(git('status', '--porcelain'));
  if (refusal) throw new Error(refusal);
  const commit = git('rev-parse', '--short=12', 'HEAD');
  // bench/.build is a package of its own, so that `restflow-throttle` is the copy built there, not the repository's dist/.
  writeFileSync('bench/.build/package.json', JSON.stringify({ name: 'restflow-throttle-bench', private: true }));
  writeFileSync('bench/.build/node_modules/restflow-throttle/package.json', JSON.stringify({ name: 'restflow-throttle', main: 'dist/index.js' }));
  if (!existsSync('bench/competitors/node_modules/@nest-lab')) execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--prefix', 'bench/competitors'], { stdio: 'inherit' });
  if (PIN) execFileSync('taskset', ['-acp', '1', String(process.pid)], { stdio: 'ignore' });
  const [redis, started] = [await startRedis(), Date.now()];
  const versions = ['@nestjs/core', '@nestjs/throttler'].map((name) => `${name} ${version(name)}`).concat(`@nest-lab/throttler-storage-redis ${version('@nest-lab/throttler-storage-redis', 'bench/competitors')}`);
  const machine = `${cpus()[0]?.model ?? '?'} x ${cpus().length} (${PIN ? 'server on core 0; autocannon and redis-server on core 1' : 'not pinned'})`;
  const environment = `Node ${process.version}, ${machine}, redis-server ${/redis_version:(\S+)/.exec(redisCli('INFO', 'server'))?.[1]}, ${versions.join(', ')}.`;
  const r: Results = { commit, quick: QUICK, environment, minutes: 0, settings: S, samples: [], decisions: [], memory: [], worst: { entries: 0, worstScriptUs: NaN, unexpected: 0 } };
  await measure(r).finally(() => redis.kill());
  if (!QUICK && (git('rev-parse', '--short=12', 'HEAD') !== commit || dirtyTreeRefusal(git('status', '--porcelain')))) {
    throw new Error(`The tree changed while the bench ran (from ${commit}); nothing written. Rerun on a quiet, clean tree.`);
  }
  const out = QUICK ? `${tmpdir()}/restflow-bench-quick.md` : 'bench/RESULTS.md';
  writeFileSync(out, renderReport({ ...r, minutes: (Date.now() - started) / 60_000 }));
  for (const [goal, measured, met] of targets(r)) log(`${met ? 'met   ' : 'MISSED'} ${goal}: ${measured}`);
  log(`wrote ${out}`);
}

main().catch((error: unknown) => (console.error(error instanceof Error ? error.message : error), process.exit(1)));
