/**
 * `npm run bench:compare -- <commit> [--rounds N]`: this tree's library against another commit's, on this tree's
 * bench (its child app, autocannon, its own redis-server): our memory and Redis columns on Fastify, at 1 and 10 000
 * clients and under attack. Each run of one build is made next to the same run of the other, in an order that
 * alternates each round, and the table gives the per-round ratios of the server's CPU time per answer and of
 * answers a second. On a machine whose speed drifts (a shared VM: up to 2x between rounds), a ratio of two runs
 * side by side is what can say "no slower than"; two separate `npm run bench` reports cannot. With
 * `--instructions`, each run is counted in CPU instructions under valgrind instead (instructions.ts): one round
 * of that tells a few percent apart, which timing rounds on a shared VM cannot.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { comparisonTable, type PairedRuns } from './compare-report';
import { INSTRUCTION_ANSWERS, instructionRun } from './instructions';
import { httpRun, OWN_BUILD, PIN, startRedis } from './processes';
import { HTTP, median, table } from './report';

const OTHER_BUILD = `${OWN_BUILD}/other`;
const LIMITERS = ['ours-memory', 'ours-redis'];
const SCENARIOS = ['1', String(HTTP.keys), 'attack'];
const log = (line: string) => console.log(`[compare ${new Date().toISOString().slice(11, 19)}] ${line}`);

async function main(): Promise<void> {
  const [commit, rounds] = [process.argv[2], roundsArg()];
  if (commit === undefined || commit.startsWith('-'))
    throw new Error('usage: npm run bench:compare -- <commit> [--rounds N] [--instructions]');
  const other = git('rev-parse', '--short=12', '--verify', `${commit}^{commit}`);
  const own = `${git('rev-parse', '--short=12', 'HEAD')}${git('status', '--porcelain') === '' ? '' : '+changes'}`;
  buildOther(other);
  if (process.argv.includes('--instructions')) return compareInstructions(own, other, rounds);
  if (PIN) execFileSync('taskset', ['-acp', '1', String(process.pid)]);
  const redis = await startRedis();
  const runs: PairedRuns = {};
  try {
    for (let round = 0; round < rounds; round++)
      for (const scenario of SCENARIOS)
        for (const limiter of LIMITERS) {
          const builds = round % 2 === 0 ? [OWN_BUILD, OTHER_BUILD] : [OTHER_BUILD, OWN_BUILD];
          const measured: Record<string, { rps: number; cpu: number }> = {};
          for (const build of builds) {
            const run = { platform: 'fastify', limiter, scenario, redisPort: redis.port, build };
            measured[build] = await httpRun(HTTP, run);
          }
          const pair = { own: measured[OWN_BUILD], other: measured[OTHER_BUILD] };
          (runs[`${scenario} ${limiter}`] ??= []).push(pair);
          const at = `round ${round + 1}/${rounds}, ${scenario}, ${limiter}`;
          log(`${at}: ${own} ${pair.own.cpu.toFixed(1)} µs/answer, ${other} ${pair.other.cpu.toFixed(1)}`);
        }
  } finally {
    redis.proc.kill();
  }
  console.log(
    `\nFastify, ${rounds} rounds, ${HTTP.seconds} s measured per run; ${own} is this tree, ${other} the other.\n`,
  );
  console.log(comparisonTable(runs, own, other));
}

/**
 * Both builds' runs counted in instructions, side by side (a core each, a Redis each: the attack's counts must not
 * meet), `rounds` times; a row per run with each build's median instructions per answer and their ratio.
 */
async function compareInstructions(own: string, other: string, rounds: number): Promise<void> {
  const redis = [await startRedis(), await startRedis()];
  const counts: Record<string, { own: number[]; other: number[] }> = {};
  try {
    for (let round = 0; round < rounds; round++)
      for (const scenario of SCENARIOS)
        for (const limiter of LIMITERS) {
          const [mine, theirs] = await Promise.all(
            [OWN_BUILD, OTHER_BUILD].map((build, i) =>
              instructionRun(HTTP, { limiter, scenario, redisPort: redis[i].port, build }),
            ),
          );
          const run = (counts[`${scenario} ${limiter}`] ??= { own: [], other: [] });
          run.own.push(mine);
          run.other.push(theirs);
          const at = `round ${round + 1}/${rounds}, ${scenario}, ${limiter}`;
          log(`${at}: ${own} ${mine.toFixed(0)} instructions/answer, ${other} ${theirs.toFixed(0)}`);
        }
  } finally {
    for (const server of redis) server.proc.kill();
  }
  const { warmup, counted } = INSTRUCTION_ANSWERS;
  console.log(
    `\nFastify under callgrind, ${rounds} rounds, ${counted} answers counted after ${warmup}; ${own} is this`,
  );
  console.log(`tree, ${other} the other. Instructions per answer, V8's optimizing compiler left out.\n`);
  const rows = Object.entries(counts).map(([run, { own: mine, other: theirs }]) => ({
    run,
    [own]: median(mine).toFixed(0),
    [other]: median(theirs).toFixed(0),
    [`${own} / ${other}`]: `${(median(mine) / median(theirs)).toFixed(3)}x`,
  }));
  console.log(table(rows));
}

/** The other commit's library, built by its own build script into bench/.build/other beside this tree's child. */
function buildOther(commit: string): void {
  const source = resolve(`${OWN_BUILD}/other-source`);
  for (const dir of [source, OTHER_BUILD]) rmSync(dir, { recursive: true, force: true });
  mkdirSync(source, { recursive: true });
  execFileSync('sh', ['-c', `git archive ${commit} | tar -x -C '${source}'`]);
  if (!existsSync(`${source}/scripts/build-package.mjs`)) {
    throw new Error(`${commit} has no scripts/build-package.mjs: it predates the build this comparison runs.`);
  }
  symlinkSync(resolve('node_modules'), `${source}/node_modules`); // the same dependencies as this tree
  const dist = resolve(`${OTHER_BUILD}/node_modules/restflow-throttle/dist`);
  execFileSync(process.execPath, ['scripts/build-package.mjs', '--outDir', dist], { cwd: source, stdio: 'inherit' });
  for (const file of ['child.js', 'report.js']) cpSync(`${OWN_BUILD}/${file}`, `${OTHER_BUILD}/${file}`);
  for (const build of [OWN_BUILD, OTHER_BUILD]) {
    // Each a package of its own: `restflow-throttle` is the copy built there.
    writeFileSync(`${build}/package.json`, '{"private":true}');
    writeFileSync(`${build}/node_modules/restflow-throttle/package.json`, '{"main":"dist/index.js"}');
  }
}

function roundsArg(): number {
  const at = process.argv.indexOf('--rounds');
  const rounds = at < 0 ? (process.argv.includes('--instructions') ? 1 : 7) : Number(process.argv[at + 1]);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds takes a whole number of rounds, 1 or more');
  return rounds;
}

function git(...args: string[]): string {
  return execFileSync('git', args, { encoding: 'utf8' }).trim();
}

main().catch((error: unknown) => (console.error(error instanceof Error ? error.message : error), process.exit(1)));
