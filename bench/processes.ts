/**
 * The bench's processes, shared by `npm run bench` (main.ts) and `npm run bench:compare` (compare.ts): its own
 * redis-server, a child per run pinned to a core, one HTTP run under autocannon, the server's CPU time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import autocannon from 'autocannon';
import { ATTACK_LIMIT, clientAddress, cpuTicks, type HttpSettings, type Row } from './report';

/** Each child (the server under test, an engine task) on core 0; the bench (autocannon) and redis-server on core 1. */
export const PIN = cpus().length > 1 && spawnSync('taskset', ['-V']).status === 0;
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100; // /proc's unit

/** The copy of the library and the bench's child that a run uses: `bench/.build` (this tree) unless told. */
export const OWN_BUILD = 'bench/.build';

/** A redis-server of the bench's own on a free port, on core 1, saving nothing (surely not into the clean tree). */
export async function startRedis() {
  const version = /v=(\S+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1];
  if (!version) throw new Error('the bench starts its own redis-server: install it (apt-get install redis-server).');
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as AddressInfo).port;
  await once(probe.close(), 'close');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir'];
  const redis = start(1, 'redis-server', [...args, mkdtempSync(`${tmpdir()}/bench-redis-`)]);
  await redis.line;
  return { port, version, proc: redis.proc };
}

/**
 * One HTTP run on a fresh server process (`build`'s child and library): a warm-up, then answers a second and the
 * server's CPU time per answer. Under a limit never reached any answer but a 2xx stops the bench; in the attack a
 * 429 is the answer expected, but more 2xx than the limit (the whole run is well within its minute) or any other
 * answer stops it.
 */
export async function httpRun(
  http: HttpSettings,
  run: { platform: string; limiter: string; scenario: string; redisPort: number; build?: string },
) {
  const { platform, limiter, scenario, redisPort } = run;
  const attack = scenario === 'attack';
  const limited = attack && limiter !== 'none'; // the one run where a 429 is expected
  const keys = attack ? 1 : Number(scenario);
  const store = limiter.endsWith('-redis') ? 'redis' : 'memory';
  const settings = { task: 'server', platform, limiter, store, limit: attack ? ATTACK_LIMIT : 1e9 };
  const server = child(settings, redisPort, run.build);
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

/** `<build>/child.js` on core 0, given its settings as JSON, on an empty Redis. */
export function child(settings: object, redisPort: number, build = OWN_BUILD) {
  spawnSync('redis-cli', ['-p', String(redisPort), 'FLUSHALL']);
  const json = JSON.stringify({ ...settings, redisPort });
  return start(0, process.execPath, ['--expose-gc', `${build}/child.js`, json]);
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
