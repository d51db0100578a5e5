/**
 * `npm run bench`: what docs/benchmarks.md describes, into bench/RESULTS.md with the commit measured.
 * `npm run bench -- --smoke [file]`: every HTTP run once and short, from any tree, into `file` (by default a file in
 * the temp directory), to try the bench itself.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ATTACK_LIMIT, clientAddress, cpuTicks, dirtyTreeRefusal, HTTP, limitersOf } from './report';
import { renderReport, SCENARIOS, SMOKE, targets, type HttpSettings, type Row, type Samples } from './report';

// Each child (the server under test, an engine task) on core 0; this process (autocannon) and redis-server on core 1.
const PIN = cpus().length > 1 && spawnSync('taskset', ['-V']).status === 0;
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100; // /proc's unit
const SMOKE_AT = process.argv.indexOf('--smoke');
const SMOKE_FILE = SMOKE_AT < 0 ? undefined : (process.argv[SMOKE_AT + 1] ?? join(tmpdir(), 'bench-smoke.md'));
const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
let redisPort = 0;

async function main(): Promise<void> {
  const commit = SMOKE_FILE ? headCommit() : cleanCommit();
  const http = SMOKE_FILE ? SMOKE : HTTP;
  // bench/.build is a package of its own: `restflow-throttle` is the copy built there, not the repository's dist/.
  writeFileSync('bench/.build/package.json', '{"private":true}');
  writeFileSync('bench/.build/node_modules/restflow-throttle/package.json', '{"main":"dist/index.js"}');
  if (!existsSync('bench/competitors/node_modules/rate-limiter-flexible')) {
    execFileSync('npm', ['ci', '--prefix', 'bench/competitors']);
  }
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
  const measured = await redis.line.then(() => measure(http)).finally(() => redis.proc.kill());
  if (!SMOKE_FILE && cleanCommit() !== commit) {
    throw new Error(`HEAD moved from ${commit} while the bench ran: nothing written.`);
  }
  const pinning = PIN ? 'children on core 0; autocannon and redis-server on core 1' : 'not pinned';
  const machine = `${cpus()[0]?.model} x ${cpus().length} (${pinning})`;
  const environment = `Node ${process.version}, ${machine}, redis-server ${version}`;
  const minutes = (Date.now() - started) / 60_000;
  const results = { commit, smoke: SMOKE_FILE !== undefined, environment, minutes, http, ...measured };
  writeFileSync(SMOKE_FILE ?? 'bench/RESULTS.md', renderReport(results));
  for (const { goal, measured, met } of targets(results)) log(`${met ? 'met   ' : 'MISSED'} ${goal}: ${measured}`);
  log(`${minutes.toFixed(1)} min; written to ${SMOKE_FILE ?? 'bench/RESULTS.md'}`);
}

/** The commit checked out, if the tree has no change from it: the results must name the code measured. */
function cleanCommit(): string {
  const refusal = dirtyTreeRefusal(execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8' }));
  if (refusal) throw new Error(refusal);
  return headCommit();
}

function headCommit(): string {
  return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
}

/** HTTP runs, every limiter of a scenario once a round in an order rotated each round; then the tasks without HTTP. */
async function measure(http: HttpSettings) {
  const [samples, cpu, decisions, memory]: [Samples, Samples, Row[], Row[]] = [{}, {}, [], []];
  for (let round = 0; round < http.rounds; round++)
    for (const platform of ['fastify', 'express'])
      for (const scenario of SCENARIOS) {
        const limiters = limitersOf(scenario);
        for (const limiter of limiters.map((_, i) => limiters[(i + round) % limiters.length])) {
          const run = await httpRun(http, platform, limiter, scenario);
          (samples[`${platform} ${scenario} ${limiter}`] ??= []).push(run.rps);
          (cpu[`${platform} ${scenario} ${limiter}`] ??= []).push(run.cpu);
          const at = `round ${round + 1}/${http.rounds}, ${platform}, ${scenario}, ${limiter}`;
          log(`${at}: ${run.rps.toFixed(0)} req/s, ${run.cpu.toFixed(1)} µs/answer`);
        }
      }
  const task = async (settings: object) => {
    // in a process of its own (a fresh heap): the row it prints
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
  return { samples, cpu, decisions, memory, worst };
}

/**
 * One HTTP run on a fresh server process: a warm-up, then answers a second and the server's CPU time per answer.
 * Under a limit never reached any answer but a 2xx stops the bench; in the attack a 429 is the answer expected, but
 * more 2xx than the limit (the whole run is well within its minute) or any other answer stops it.
 */
async function httpRun(http: HttpSettings, platform: string, limiter: string, scenario: string) {
  const attack = scenario === 'attack';
  const limited = attack && limiter !== 'none'; // the one run where a 429 is expected
  const keys = attack ? 1 : Number(scenario);
  const store = limiter.endsWith('-redis') ? 'redis' : 'memory';
  const server = child({ task: 'server', platform, limiter, store, limit: attack ? ATTACK_LIMIT : 1e9 });
  let next = 0; // each connection cycles through a slice of the client addresses of its own
  const address = () => ({ headers: { 'x-forwarded-for': clientAddress(next++ % keys) } });
  const slice = Math.ceil(keys / http.connections);
  const setupClient = (c: autocannon.Client) => c.setRequests(Array.from({ length: slice }, address));
  let admitted = 0;
  try {
    const url = `http://127.0.0.1:${(JSON.parse(await server.line) as Row).port}/`;
    const load = async (duration: number) => {
      const before = cpuSeconds(server.proc.pid!);
      const r = await autocannon({ url, connections: http.connections, duration, setupClient });
      const used = cpuSeconds(server.proc.pid!) - before;
      const refused = limited ? (r.statusCodeStats?.['429']?.count ?? 0) : 0;
      admitted += r['2xx'];
      if (r.non2xx - refused + r.errors > 0) {
        const expected = limited ? 'only 2xx and 429 expected' : 'a limiter must allow all';
        throw new Error(`${limiter}: ${r.non2xx - refused} non-2xx (429s aside), ${r.errors} errors: ${expected}`);
      }
      if (limited && admitted > ATTACK_LIMIT) throw new Error(`${limiter}: ${admitted} 2xx, over ${ATTACK_LIMIT}`);
      const answers = r['2xx'] + r.non2xx;
      return { rps: answers / r.duration, cpu: (used * 1e6) / answers };
    };
    await load(http.warmup);
    return await load(http.seconds);
  } finally {
    server.proc.kill('SIGKILL');
  }
}

/**
 * CPU seconds (user + system, all threads) the process has used, from /proc/<pid>/stat (NaN without /proc). Under
 * `taskset` the pid is the server's: taskset execs it.
 */
function cpuSeconds(pid: number): number {
  try {
    return cpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) / TICKS;
  } catch {
    return Number.NaN;
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
      String(chunk)
        .split('\n')
        .filter((l) => /^{|Ready to accept/.test(l))
        .forEach(resolve),
    );
    proc.on('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited (${String(code)})`)));
  });
  return { proc, line };
}

main().catch((error: unknown) => (console.error(error instanceof Error ? error.message : error), process.exit(1)));
