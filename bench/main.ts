/**
 * `npm run bench`: HTTP throughput against @nestjs/throttler, decisions without HTTP, memory per key and the Lua worst
 * case, into bench/RESULTS.md with the commit measured. How each part measures: docs/benchmarks.md.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import autocannon from 'autocannon';
import { clientAddress, dirtyTreeRefusal, renderReport, targets, type HttpSample, type Measured, type Row } from './report';

const QUICK = process.env.BENCH_QUICK === '1'; // a smoke run of every part, from any tree, written to the temp dir
const Q = QUICK ? 5 : 1; // a smoke run divides the time, the rounds and the Lua log by 5
const HTTP = { rounds: Math.ceil(5 / Q), warmup: 1 / Q, seconds: 3 / Q, keys: 10_000, connections: 50 };
const ENGINE = { rounds: Math.ceil(3 / Q), seconds: 0.5 / Q };
const LIMITERS = ['none', 'ours-memory', 'ours-redis', 'peer-memory', 'peer-redis'];
const PIN = cpus().length > 1 && spawnSync('taskset', ['-V']).status === 0; // servers and engines on core 0, the rest on core 1
const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trimEnd(); // porcelain lines start with a space
let redisPort = 0;

async function main(): Promise<void> {
  const refusal = QUICK ? null : dirtyTreeRefusal(git('status', '--porcelain'));
  if (refusal) throw new Error(refusal);
  const commit = git('rev-parse', '--short=12', 'HEAD');
  // bench/.build is a package of its own, so that `restflow-throttle` is the copy built there, not the repository's dist/.
  writeFileSync('bench/.build/package.json', '{"private":true}');
  writeFileSync('bench/.build/node_modules/restflow-throttle/package.json', '{"main":"dist/index.js"}');
  if (!existsSync('bench/competitors/node_modules')) execFileSync('npm', ['ci', '--prefix', 'bench/competitors'], { stdio: 'inherit' });
  if (PIN) execFileSync('taskset', ['-acp', '1', String(process.pid)]);
  const [redis, started] = [await startRedis(), Date.now()];
  const measured = await measure().finally(() => redis.proc.kill());
  if (!QUICK && (git('rev-parse', '--short=12', 'HEAD') !== commit || dirtyTreeRefusal(git('status', '--porcelain')))) {
    throw new Error(`The tree changed while the bench ran (from ${commit}); nothing written. Rerun on a quiet, clean tree.`);
  }
  const version = (name: string, dir = '.') =>
    `${name} ${(JSON.parse(readFileSync(`${dir}/node_modules/${name}/package.json`, 'utf8')) as Row).version}`;
  const pinning = PIN ? 'server on core 0; autocannon and redis-server on core 1' : 'not pinned';
  const environment = [`Node ${process.version}`, `${cpus()[0]?.model} x ${cpus().length} (${pinning})`, `redis-server ${redis.version}`,
    version('@nestjs/core'), version('@nestjs/throttler'), version('@nest-lab/throttler-storage-redis', 'bench/competitors')].join(', ');
  const settings = { ...HTTP, decisionRounds: ENGINE.rounds, decisionSeconds: ENGINE.seconds };
  const r = { commit, quick: QUICK, environment, minutes: (Date.now() - started) / 60_000, settings, ...measured };
  const out = QUICK ? `${tmpdir()}/restflow-bench-quick.md` : 'bench/RESULTS.md';
  writeFileSync(out, renderReport(r));
  for (const { goal, measured, met } of targets(r)) log(`${met ? 'met   ' : 'MISSED'} ${goal}: ${measured}`);
  log(`wrote ${out}`);
}

/** HTTP runs, every limiter once a round in an order rotated each round; then the engine's tasks, a process each. */
async function measure(): Promise<Measured> {
  const m: Measured = { samples: [], decisions: [], memory: [], worst: {} };
  for (let round = 0; round < HTTP.rounds; round++)
    for (const platform of ['fastify', 'express'])
      for (const keys of [1, HTTP.keys])
        for (const limiter of [...LIMITERS.slice(round % 5), ...LIMITERS.slice(0, round % 5)])
          m.samples.push(await httpRun(platform, limiter, keys, round));
  const engine = (task: object) => child('engine.js', task).line.then((line) => (log(line), JSON.parse(line) as Row));
  for (const store of ['memory', 'redis'])
    for (const algorithm of ['sliding-log', 'gcra']) {
      for (const limit of [10, 100_000]) m.decisions.push(await engine({ task: 'decisions', store, algorithm, limit, ...ENGINE }));
      // Full logs of the limit's timestamps; GCRA keys after a few hits. Heap growth needs many keys, MEMORY USAGE is exact.
      const [keys, hits] = algorithm === 'gcra' ? [store === 'memory' ? 20_000 : 100, 10] : [store === 'memory' ? 3 : 1, 100_000];
      m.memory.push(await engine({ task: 'memory', store, algorithm, limit: 100_000, keys, hits }));
    }
  m.worst = await engine({ task: 'worst', store: 'redis', algorithm: 'sliding-log', limit: 300_000 / Q });
  return m;
}

/** The bench's own redis-server on a free port, on core 1, without persistence. */
async function startRedis() {
  const version = /v=(\S+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1];
  if (!version) throw new Error('redis-server is not installed (apt-get install redis-server); the bench starts its own.');
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  redisPort = (probe.address() as AddressInfo).port;
  await once(probe.close(), 'close');
  const dir = mkdtempSync(`${tmpdir()}/bench-redis-`);
  const args = ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const { proc, line } = start(1, 'redis-server', args, /Ready to accept connections/);
  await line;
  return { proc, version };
}

/** One HTTP run on a fresh server process: a warm-up, then requests/s and server CPU seconds per request. */
async function httpRun(platform: string, limiter: string, keys: number, round: number): Promise<HttpSample> {
  spawnSync('redis-cli', ['-p', String(redisPort), 'FLUSHALL']);
  const { proc, line } = child('server.js', { platform, limiter });
  const cpu = () => readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13); // utime, stime: 1/100 s
  const slice = Math.ceil(keys / HTTP.connections); // with many keys, each connection cycles through its own client addresses
  const requests = (c: number) =>
    Array.from({ length: slice }, (_, j) => ({ headers: { 'x-forwarded-for': clientAddress((c * slice + j) % keys) } }));
  try {
    const url = `http://127.0.0.1:${(JSON.parse(await line) as { port: number }).port}/`;
    const load = async (duration: number) => {
      let next = 0;
      const r = await autocannon({ url, connections: HTTP.connections, duration, setupClient: (c) => c.setRequests(requests(next++)) });
      if (r.non2xx + r.errors > 0) throw new Error(`${r.non2xx} non-2xx answers, ${r.errors} errors: every limiter must allow all`);
      return r;
    };
    await load(HTTP.warmup);
    const before = cpu();
    const r = await load(HTTP.seconds);
    const cpuSeconds = cpu().reduce((sum, ticks, i) => sum + (Number(ticks) - Number(before[i])) / 100, 0);
    const sample = { platform, keys, limiter, round, rps: r['2xx'] / r.duration, cpu: cpuSeconds / r['2xx'] };
    log(`round ${round + 1}/${HTTP.rounds}, ${platform}, ${keys} client(s), ${limiter}: ${Math.round(sample.rps)} req/s`);
    return sample;
  } finally {
    proc.kill('SIGKILL');
  }
}

/** `command` on one core, and the first line it prints that matches `ready` (the rest is read too: a full pipe would stall it). */
function start(core: number, command: string, args: string[], ready = /^{/) {
  const argv = PIN ? ['-c', String(core), command, ...args] : args;
  const proc = spawn(PIN ? 'taskset' : command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = new Promise<string>((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => String(chunk).split('\n').filter((l) => ready.test(l)).forEach(resolve));
    proc.on('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited (${String(code)})`)));
  });
  return { proc, line };
}

/** A process of bench/.build on core 0, given its settings as JSON, and the first JSON line it prints. */
const child = (file: string, settings: object) =>
  start(0, process.execPath, ['--expose-gc', `bench/.build/${file}`, JSON.stringify({ ...settings, redisPort })]);
const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

main().catch((error: unknown) => (console.error(error instanceof Error ? error.message : error), process.exit(1)));
