/**
 * Consumer apps (test/package/consumers/) installed from the npm registry once and reused.
 *
 * Installing a Nest app takes tens of seconds and the registry; the tarball under test changes on every
 * run. So each consumer's locked dependencies are installed with npm (from its lockfile) into a folder named after a hash
 * of its package.json and lockfile, outside the clone, and every run only installs the new tarball into it
 * and copies the app's sources next to it. A missing registry or a failed install is an error that says so.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

// Jest runs from the repository root (npm test).
const FIXTURES = join(process.cwd(), 'test', 'package', 'consumers');

/** Where installs are kept: `RESTFLOW_CONSUMER_CACHE`, else `~/.cache/restflow-throttle/consumers`. */
export const CONSUMER_CACHE =
  process.env.RESTFLOW_CONSUMER_CACHE ?? join(homedir(), '.cache', 'restflow-throttle', 'consumers');

/**
 * Runs a command and returns its stdout; a non-zero exit throws an error carrying both outputs, so a
 * failing consumer step reads as what the user would have seen.
 */
export function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  try {
    return execFileSync(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      encoding: 'utf8',
      stdio: 'pipe',
      maxBuffer: 64 << 20,
    });
  } catch (error) {
    const { stdout, stderr, status, code } = error as {
      stdout?: string;
      stderr?: string;
      status?: number | null;
      code?: string;
    };
    const line = [command, ...args].join(' ');
    if (code === 'ENOENT') throw new Error(`\`${line}\`: ${command} was not found (cwd ${options.cwd})`);
    throw new Error(`\`${line}\` in ${options.cwd} exited with ${status ?? code}\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
}

/**
 * The folder holding `consumer`'s installed dependencies (`node_modules`), installed from its lockfile the
 * first time. The install is done in a temporary folder and renamed when complete, so an
 * interrupted install is never mistaken for a finished one.
 */
export function installedConsumer(consumer: string): string {
  const packageJson = readFileSync(join(FIXTURES, consumer, 'package.json.txt'), 'utf8');
  const lockfile = readFileSync(join(FIXTURES, consumer, 'package-lock.json.txt'), 'utf8');
  const hash = createHash('sha256')
    .update(packageJson)
    .update(lockfile)
    .update(process.versions.node.split('.')[0])
    .digest('hex');
  const dir = join(CONSUMER_CACHE, `${consumer}-${hash.slice(0, 16)}`);
  if (existsSync(join(dir, 'node_modules'))) return dir;

  mkdirSync(CONSUMER_CACHE, { recursive: true });
  const staging = `${dir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  writeFileSync(join(staging, 'package.json'), packageJson);
  writeFileSync(join(staging, 'package-lock.json'), lockfile);
  try {
    // `npm install` with the lockfile, not `npm ci`: npm 11 leaves some other platforms' optional
    // dependencies out of lockfiles, and `npm ci` then refuses the lockfile it wrote.
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: staging });
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(
      `Installing the '${consumer}' consumer app from the npm registry failed (needed once, then cached in ${CONSUMER_CACHE}):\n${(error as Error).message}`,
    );
  }
  if (existsSync(dir))
    rmSync(staging, { recursive: true, force: true }); // another run finished first
  else renameSync(staging, dir);
  // Installs of this consumer's earlier package.json or lockfile are not used again.
  for (const entry of readdirSync(CONSUMER_CACHE)) {
    if (new RegExp(`^${consumer}-[0-9a-f]{16}$`).test(entry) && join(CONSUMER_CACHE, entry) !== dir) {
      rmSync(join(CONSUMER_CACHE, entry), { recursive: true, force: true });
    }
  }
  return dir;
}

/**
 * Takes the consumer apps for this process until `release()`: a run installs its own tarball into the
 * shared installs, so two runs at once (two developers' `npm test` on one machine) take turns. A lock
 * left by a process that died is taken over.
 */
export async function lockConsumers(waitMs: number): Promise<{ release(): void }> {
  mkdirSync(CONSUMER_CACHE, { recursive: true });
  const lock = join(CONSUMER_CACHE, '.lock');
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      return { release: () => rmSync(lock, { recursive: true, force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileSafely(join(lock, 'pid')));
    if (holder > 0 && !isAlive(holder)) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(
        `The consumer apps in ${CONSUMER_CACHE} are held by process ${holder} (another test run) for more than ${waitMs} ms`,
      );
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
}

function readFileSafely(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return ''; // the holder has created the lock but not written its pid yet
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Installs the packed tarball into an installed consumer, as `npm install <tarball>` would, without saving it. */
export function installTarball(consumerDir: string, tarball: string): void {
  run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: consumerDir });
}

/**
 * A fresh copy of `consumer`'s app (sources, package.json, configs; `.txt` suffixes dropped) in a new
 * folder inside its install, so Node, tsc, Jest and Vitest find the dependencies one level up.
 */
export function copyConsumerApp(consumer: string, consumerDir: string): string {
  const app = mkdtempSync(join(consumerDir, 'app-'));
  copyWithoutTxt(join(FIXTURES, consumer), app);
  rmSync(join(app, 'package-lock.json'), { force: true });
  return app;
}

function copyWithoutTxt(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    if (entry.isDirectory()) copyWithoutTxt(source, join(to, entry.name));
    else cpSync(source, join(to, entry.name.replace(/\.txt$/, '')));
  }
}
