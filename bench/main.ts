/** `npm run bench`: what docs/benchmarks.md describes, into bench/RESULTS.md with the commit measured. */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import autocannon from 'autocannon';
import { clientAddress, dirtyTreeRefusal, HTTP, LIMITERS, renderReport, targets } from './report';
import type { Row, Samples } from './report';

// Each child (the server under test, an engine task) on core 0; this process (autocannon) and redis-server on core 1.
const PIN = cpus().length > 1 && spawnSync('taskset', ['-V']).status === 0;
const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
let redisPort = 0;

async function main(): Promise<void> {
  const commit = cleanCommit();
  // bench/.build is a package of its own: `restflow-throttle` is the copy built there, not the repository's dist/.
  writeFileSync('bench/.build/package.json', '{"private":true}');
  writeFileSync('bench/.build/node_modules/restflow-throttle/package.json', '{"main":"dist/index.js"}');
  if (!existsSync('bench/competitors/node_modules')) execFileSync('npm', ['ci', '--prefix', 'bench/competitors']);
  if (PIN) execFileSync('taskset', ['-acp', '1', String(process.pid)]);
  const version = /v=(\S+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1];
  if (!version) throw new Error('the bench starts its own redis-server: install it (apt-get install redis-server).');
  const probe = createServer().listen(0, '127.0.0.1'); // a free port for the bench's own redis-server
  await once(probe, 'listening');
  redisPort = (probe.address() as AddressInfo).port;
  await once(probe.close(), 'close');
  // It saves nothing (surely not into the clean tree).
  const args = ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir'];
  const [started, redis] = [Date.now(), start(1, 'redis-server', [...args, mkdtempSync(`${tmpdir()}/bench-redis-`)])];
  const measured = await redis.line.then(measure).finally(() => redis.proc.kill());
  if (cleanCommit() !== commit) throw new Error(`HEAD moved from ${commit} while the bench ran: nothing written.`);
  const pinning = PIN ? 'children on core 0; autocannon and redis-server on core 1' : 'not pinned';
  const machine = `${cpus()[0]?.model} x ${cpus().length} (${pinning})`;
  const environment = `Node ${process.version}, ${machine}, redis-server ${version}`;
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
  const [samples, decisions, memory]: [Samples, Row[], Row[]] = [{}, [], []];
  for (let round = 0; round < HTTP.rounds; round++)
    for (const platform of ['fastify', 'express'])
      for (const keys of [1, HTTP.keys])
        for (const limiter of LIMITERS.map((_, i) => LIMITERS[(i + round) % LIMITERS.length])) {
          const rps = await httpRun(platform, limiter, keys);
          (samples[`${platform} ${keys} ${limiter}`] ??= []).push(rps);
          log(`round ${round + 1}/${HTTP.rounds}, ${platform}, ${keys} client(s), ${limiter}: ${rps.toFixed(0)} req/s`);
        }
  const task = async (settings: object) => { // in a process of its own (a fresh heap): the row it prints
    const line = await child(settings).line;
    log(line);
    return JSON.parse(line) as Row;
  };
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

/** One HTTP run on a fresh server process: a warm-up, then 2xx answers a second. */
async function httpRun(platform: string, limiter: string, keys: number): Promise<number> {
  const server = child({ task: 'server', platform, limiter, store: limiter.endsWith('-redis') ? 'redis' : 'memory' });
  let next = 0; // each connection cycles through a slice of the client addresses of its own
  const address = () => ({ headers: { 'x-forwarded-for': clientAddress(next++ % keys) } });
  const slice = Math.ceil(keys / HTTP.connections);
  const setupClient = (c: autocannon.Client) => c.setRequests(Array.from({ length: slice }, address));
  try {
    const url = `http://127.0.0.1:${(JSON.parse(await server.line) as Row).port}/`;
    const load = async (duration: number) => {
      const r = await autocannon({ url, connections: HTTP.connections, duration, setupClient });
      if (r.non2xx + r.errors > 0) throw new Error(`${r.non2xx} non-2xx, ${r.errors} errors: a limiter must allow all`);
      return r['2xx'] / r.duration;
    };
    await load(HTTP.warmup);
    return await load(HTTP.seconds);
  } finally {
    server.proc.kill('SIGKILL');
  }
}

/** bench/.build/child.js on core 0, given its settings as JSON, on an empty Redis. */
function child(settings: object) {
  spawnSync('redis-cli', ['-p', String(redisPort), 'FLUSHALL']);
  const json = JSON.stringify({ ...settings, redisPort });
  return start(0, process.execPath, ['--expose-gc', 'bench/.build/child.js', json]);
}

/** `command` on one core, and the first line it prints that starts with `{` or says Redis is ready. */
function start(core: number, command: string, args: string[]) {
  const [file, argv] = PIN ? ['taskset', ['-c', String(core), command, ...args]] : [command, args];
  const proc = spawn(file, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = new Promise<string>((resolve, reject) => {
    // All of it is read: a full pipe would stall the child.
    proc.stdout.on('data', (chunk: Buffer) =>
      String(chunk).split('\n').filter((l) => /^{|Ready to accept/.test(l)).forEach(resolve));
    proc.on('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited (${String(code)})`)));
  });
  return { proc, line };
}

main().catch((error: unknown) => (console.error(error instanceof Error ? error.message : error), process.exit(1)));
