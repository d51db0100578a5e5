/**
 * `npm run bench:compare -- <commit> --instructions`: the server's CPU instructions per answer, counted by
 * valgrind's callgrind, for this tree and another commit. Timings on a shared VM drift by 2x between rounds; an
 * instruction count does not: the same work counts the same whatever else the machine does, so this is what can
 * tell a 3% difference. Each server runs V8 single-threaded (its compiler and GC on the main thread, not on threads
 * valgrind schedules at will) and without its memory reducer (full GCs timed by the wall clock), is warmed up,
 * then counted over a fixed number of answers. The count leaves out V8's optimizing compiler, whose work comes in
 * lumps at moments that vary from run to run and that a long-running server has long finished. About 25 minutes:
 * each run is some 50 times slower than natively.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import autocannon from 'autocannon';
import { ATTACK_LIMIT, clientAddress, type HttpSettings, type Row } from './report';

/** Answers before counting (the code optimized), then answers counted. */
export const INSTRUCTION_ANSWERS = { warmup: 30_000, counted: 30_000 };

/** V8's optimizing compiler (TurboFan, Maglev), by the names of its C++ functions in node's symbols. */
const COMPILER = /compiler::|Turbofan|Maglev|maglev|OptimizedCompilationJob|Pipeline/;

/**
 * Instructions each function executed itself (callees not included), from a callgrind output file: the cost lines
 * under each `fn=`, less the inclusive cost line that follows each `calls=`. Names are compressed as `(id) name`
 * once, then `(id)`.
 */
export function selfCosts(callgrindOutput: string): Map<string, number> {
  const names = new Map<string, string>();
  const costs = new Map<string, number>();
  let fn: string | undefined;
  let skipNext = false;
  for (const line of callgrindOutput.split('\n')) {
    if (skipNext) {
      skipNext = false;
      continue;
    }
    const named = /^(c?fn)=\((\d+)\)(?: (.*))?$/.exec(line);
    if (named !== null) {
      if (named[3] !== undefined) names.set(named[2], named[3]);
      if (named[1] === 'fn') fn = names.get(named[2]);
    } else if (line.startsWith('calls=')) skipNext = true;
    else if (fn !== undefined && /^[+\-*\d]/.test(line)) {
      const cost = Number(line.split(' ')[1]);
      if (Number.isFinite(cost)) costs.set(fn, (costs.get(fn) ?? 0) + cost);
    }
  }
  return costs;
}

/** All instructions of a callgrind output, and those outside V8's optimizing compiler. */
export function instructionTotals(callgrindOutput: string): { all: number; withoutCompiler: number } {
  let [all, compiler] = [0, 0];
  for (const [fn, cost] of selfCosts(callgrindOutput)) {
    all += cost;
    if (COMPILER.test(fn)) compiler += cost;
  }
  return { all, withoutCompiler: all - compiler };
}

/**
 * One counted run: `build`'s child server under callgrind, on its own Redis, `warmup` answers, then `counted`
 * answers counted; the instructions per answer (outside the compiler). As the timed runs do, it stops on any
 * answer the run should not give: under a limit never reached anything but a 2xx; in the attack anything but a
 * 2xx or a 429, or more 2xx than the limit lets through in the minutes the run took (under valgrind it lasts
 * minutes, and the window slides).
 */
export async function instructionRun(
  http: HttpSettings,
  run: { limiter: string; scenario: string; redisPort: number; build: string },
): Promise<number> {
  const attack = run.scenario === 'attack';
  const keys = attack ? 1 : Number(run.scenario);
  const store = run.limiter.endsWith('-redis') ? 'redis' : 'memory';
  execFileSync('redis-cli', ['-p', String(run.redisPort), 'FLUSHALL']);
  const settings = { task: 'server', platform: 'fastify', limiter: run.limiter, store, redisPort: run.redisPort };
  const json = JSON.stringify({ ...settings, limit: attack ? ATTACK_LIMIT : 1e9 });
  const dir = mkdtempSync(`${tmpdir()}/bench-callgrind-`);
  // No memory reducer: it starts full GCs by the wall clock, which valgrind slows 50 times, so at moments that vary
  // from run to run (natively, neither build makes a full GC in 200 000 answers of these runs).
  const v8 = ['--single-threaded', '--no-memory-reducer'];
  const node = [process.execPath, ...v8, '--expose-gc', `${run.build}/child.js`, json];
  const args = ['--tool=callgrind', `--callgrind-out-file=${dir}/out`, '--smc-check=all-non-file', ...node];
  const server = spawn('valgrind', args, { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.stdout.on('data', (chunk: Buffer) => {
        const line = String(chunk)
          .split('\n')
          .find((l) => l.startsWith('{'));
        if (line !== undefined) resolve((JSON.parse(line) as Row).port as number);
      });
      server.on('exit', (code) => reject(new Error(`valgrind ${run.build}/child.js exited (${String(code)})`)));
    });
    let next = 0; // each connection cycles through a slice of the client addresses of its own
    const address = () => ({ headers: { 'x-forwarded-for': clientAddress(next++ % keys) } });
    const slice = Math.ceil(keys / http.connections);
    const setupClient = (c: autocannon.Client) => c.setRequests(Array.from({ length: slice }, address));
    const load = (amount: number) =>
      autocannon({ url: `http://127.0.0.1:${port}/`, connections: http.connections, amount, setupClient, timeout: 60 });
    const startedAt = performance.now();
    await load(INSTRUCTION_ANSWERS.warmup);
    execFileSync('callgrind_control', ['--zero', String(server.pid)], { stdio: 'ignore' });
    const counted = await load(INSTRUCTION_ANSWERS.counted);
    execFileSync('callgrind_control', ['--dump', String(server.pid)], { stdio: 'ignore' });
    const answers = counted['2xx'] + counted.non2xx;
    const refused = attack ? (counted.statusCodeStats?.['429']?.count ?? 0) : 0;
    const windows = Math.ceil((performance.now() - startedAt) / 60_000) + 1;
    const overLimit = attack && counted['2xx'] > ATTACK_LIMIT * windows;
    if (
      counted.errors > 0 ||
      answers !== INSTRUCTION_ANSWERS.counted ||
      answers !== counted['2xx'] + refused ||
      overLimit
    ) {
      const wanted = attack ? `only 2xx (${ATTACK_LIMIT} a minute) and 429 expected` : 'a limiter must allow all';
      throw new Error(`${run.limiter} ${run.scenario}: ${answers} answers, ${counted.errors} errors: ${wanted}`);
    }
    const dump = readdirSync(dir).find((file) => file.startsWith('out.'));
    if (dump === undefined) throw new Error(`callgrind wrote no dump in ${dir}`);
    return instructionTotals(readFileSync(`${dir}/${dump}`, 'utf8')).withoutCompiler / answers;
  } finally {
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
