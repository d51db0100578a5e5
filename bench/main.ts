/** `npm run bench`: what docs/benchmarks.md describes, into bench/RESULTS.md with the commit measured. */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import autocannon from 'autocannon';
import { clientAddress, dirtyTreeRefusal, HTTP, LIMITERS, renderReport, targets } from './report';
import type { HttpSample, Row } from './report';

// Each child (the server under test, an engine task) on core 0; this process (autocannon) and redis-server on core 1.
const PIN = cpus().length > 1 && spawnSync('taskset', ['-V']).status === 0;
let redisPort = 0;

async function main(): Promise<void> {
  const commit = cleanCommit();
  // bench/.build is a package of its own: `restflow-throttle` is the copy built there, not the repository's dist/.
  writeFileSync('bench/.build/package.json', '{"private":true}');
  writeFileSync('bench/.build/node_modules/restflow-throttle/package.json', '{"main":"dist/index.js"}');
  if (!existsSync('bench/competitors/node_modules')) execFileSync('npm', ['ci', '--prefix', 'bench/competitors']);
  if (PIN) execFileSync('taskset', ['-acp', '1', String(process.pid)]);
  const [started, redis] = [Date.now(), await startRedis()];
  const measured = await measure().finally(() => redis.proc.kill());
  if (cleanCommit() !== commit) throw new Error(`HEAD moved from ${commit} while the bench ran: nothing written.`);
  const pinning = PIN ? 'children on core 0; autocannon and redis-server on core 1' : 'not pinned';
  const environment = `Node ${process.version}, ${cpus()[0]?.model} x ${cpus().length} (${pinning}), ${redis.version}`;
  const results = { commit, environment, minutes: (Date.now() - started) / 60_000, ...measured };
  writeFileSync('bench/RESULTS.md', renderReport(results));
  for (const { goal, measured, met } of targets(results)) log(`${met ? 'met   ' : 'MISSED'} ${goal}: ${measured}`);
}

/** The commit checked out, if the tree has no change from it: the results must name the code measured. */
function cleanCommit(): string {
  const refusal = dirtyTreeRefusal(execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8' }));
  if (refusal) throw new Error(refusal);
  return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
}

/** HTTP runs, every limiter once a round in an order rotated each round; then the tasks without HTTP. */
async function measure() {
  const [samples, decisions, memory]: [HttpSample[], Row[], Row[]] = [[], [], []];
  for (let round = 0; round < HTTP.rounds; round++)
    for (const platform of ['fastify', 'express'])
      for (const keys of [1, HTTP.keys])
        for (const limiter of [...LIMITERS.slice(round % 5), ...LIMITERS.slice(0, round % 5)])
          samples.push(await httpRun(platform, limiter, keys, round));
  for (const store of ['memory', 'redis'])
    for (const algorithm of ['sliding-log', 'gcra']) {
      for (const limit of [10, 100_000]) decisions.push(await task({ task: 'decisions', store, algorithm, limit }));
      // Full logs of 100 000 timestamps; GCRA keys after a few hits, many of them for a growth well above noise.
      const [keys, hits] = algorithm === 'gcra' ? [20_000, 10] : [2, 100_000];
      memory.push(await task({ task: 'memory', store, algorithm, limit: 100_000, keys, hits }));
    }
  const worst = await task({ task: 'worst', store: 'redis', algorithm: 'sliding-log', limit: 300_000 });
  return { samples, decisions, memory, worst };
}

/** The bench's own redis-server on a free port, saving nothing (surely not into the clean tree). */
async function startRedis() {
  const version = /v=(\S+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1];
  if (!version) throw new Error('the bench starts its own redis-server: install it (apt-get install redis-server).');
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  redisPort = (probe.address() as AddressInfo).port;
  await once(probe.close(), 'close');
  const args = ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const { proc, line } = start(1, 'redis-server', [...args, '--dir', mkdtempSync(`${tmpdir()}/bench-redis-`)]);
  await line;
  return { proc, version: `redis-server ${version}` };
}

/** One HTTP run on a fresh server process: a warm-up, then 2xx answers a second. */
async function httpRun(platform: string, limiter: string, keys: number, round: number): Promise<HttpSample> {
  const server = child({ task: 'server', platform, limiter, store: limiter.endsWith('-redis') ? 'redis' : 'memory' });
  const slice = Math.ceil(keys / HTTP.connections);
  let next = 0; // each connection cycles through a slice of the client addresses of its own
  const address = (n: number) => ({ headers: { 'x-forwarded-for': clientAddress(n % keys) } });
  const setupClient = (c: autocannon.Client) => c.setRequests(Array.from({ length: slice }, () => address(next++)));
  try {
    const url = `http://127.0.0.1:${(JSON.parse(await server.line) as Row).port}/`;
    const load = async (duration: number) => {
      const r = await autocannon({ url, connections: HTTP.connections, duration, setupClient });
      if (r.non2xx + r.errors > 0) throw new Error(`${r.non2xx} non-2xx, ${r.errors} errors: a limiter must allow all`);
      return r['2xx'] / r.duration;
    };
    await load(HTTP.warmup);
    const rps = await load(HTTP.seconds);
    log(`round ${round + 1}/${HTTP.rounds}, ${platform}, ${keys} client(s), ${limiter}: ${Math.round(rps)} req/s`);
    return { platform, keys, limiter, round, rps };
  } finally {
    server.proc.kill('SIGKILL');
  }
}

/** A task without HTTP, in a process of its own (a fresh heap): the row it prints. */
async function task(settings: object): Promise<Row> {
  const line = await child(settings).line;
  log(line);
  return JSON.parse(line) as Row;
}

/** bench/.build/child.js on core 0, given its settings as JSON, on an empty Redis. */
function child(settings: object) {
  spawnSync('redis-cli', ['-p', String(redisPort), 'FLUSHALL']);
  const args = ['--expose-gc', 'bench/.build/child.js', JSON.stringify({ ...settings, redisPort })];
  return start(0, process.execPath, args);
}

/** `command` on one core, and the first line it prints that starts with `{` or says Redis is ready. */
function start(core: number, command: string, args: string[]) {
  const argv = PIN ? ['-c', String(core), command, ...args] : args;
  const proc = spawn(PIN ? 'taskset' : command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = new Promise<string>((resolve, reject) => {
    // All of it is read: a full pipe would stall the child.
    proc.stdout.on('data', (chunk: Buffer) =>
      String(chunk).split('\n').filter((l) => /^{|Ready to accept/.test(l)).forEach(resolve));
    proc.on('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited (${String(code)})`)));
  });
  return { proc, line };
}

const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

main().catch((error: unknown) => (console.error(error instanceof Error ? error.message : error), process.exit(1)));
