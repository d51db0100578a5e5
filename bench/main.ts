/**
 * `npm run bench`: what docs/benchmarks.md describes, into bench/RESULTS.md with the commit measured.
 * `npm run bench -- --smoke [file]`: every HTTP run once and short, from any tree, into `file` (by default a file in
 * the temp directory), to try the bench itself.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { child, httpRun, PIN, startRedis } from './processes';
import { dirtyTreeRefusal, HTTP, limitersOf } from './report';
import { renderReport, SCENARIOS, SMOKE, targets, type HttpSettings, type Row, type Samples } from './report';

const SMOKE_AT = process.argv.indexOf('--smoke');
const SMOKE_FILE = SMOKE_AT < 0 ? undefined : (process.argv[SMOKE_AT + 1] ?? join(tmpdir(), 'bench-smoke.md'));
const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

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
  const [started, redis] = [Date.now(), await startRedis()];
  const measured = await measure(http, redis.port).finally(() => redis.proc.kill());
  if (!SMOKE_FILE && cleanCommit() !== commit) {
    throw new Error(`HEAD moved from ${commit} while the bench ran: nothing written.`);
  }
  const pinning = PIN ? 'children on core 0; autocannon and redis-server on core 1' : 'not pinned';
  const machine = `${cpus()[0]?.model} x ${cpus().length} (${pinning})`;
  const environment = `Node ${process.version}, ${machine}, redis-server ${redis.version}`;
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
async function measure(http: HttpSettings, redisPort: number) {
  const [samples, cpu, decisions, memory]: [Samples, Samples, Row[], Row[]] = [{}, {}, [], []];
  for (let round = 0; round < http.rounds; round++)
    for (const platform of ['fastify', 'express'])
      for (const scenario of SCENARIOS) {
        const limiters = limitersOf(scenario);
        for (const limiter of limiters.map((_, i) => limiters[(i + round) % limiters.length])) {
          const run = await httpRun(http, { platform, limiter, scenario, redisPort });
          (samples[`${platform} ${scenario} ${limiter}`] ??= []).push(run.rps);
          (cpu[`${platform} ${scenario} ${limiter}`] ??= []).push(run.cpu);
          const at = `round ${round + 1}/${http.rounds}, ${platform}, ${scenario}, ${limiter}`;
          log(`${at}: ${run.rps.toFixed(0)} req/s, ${run.cpu.toFixed(1)} µs/answer`);
        }
      }
  const task = async (settings: object) => {
    // in a process of its own (a fresh heap): the row it prints
    const line = await child(settings, redisPort).line;
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

main().catch((error: unknown) => (console.error(error instanceof Error ? error.message : error), process.exit(1)));
