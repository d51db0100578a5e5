import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const builds = new Map<string, Promise<string>>();
/** Where this folder is in the repository, and so in the build, which mirrors it. */
export const HERE = ['test', 'helpers', 'processes'] as const;

/**
 * The compiled entry of `throttled-app.ts`. Compiled once per state of the
 * sources (their hash names the output directory under node_modules/.cache,
 * so a stale build is never used): a plain `node` start takes about 0.5 s,
 * against about 2 s for ts-node, which matters with 4 processes on 2 cores.
 */
export function builtAppEntry(root: string): Promise<string> {
  let build = builds.get(root);
  if (build === undefined) {
    build = buildApp(root);
    builds.set(root, build);
    build.catch(() => builds.delete(root));
  }
  return build;
}

async function buildApp(root: string): Promise<string> {
  const cache = join(root, 'node_modules', '.cache', 'restflow-throttle-app');
  const dir = join(cache, sourcesHash(root));
  const entry = join(dir, ...HERE, 'throttled-app.js');
  if (existsSync(entry)) return entry;
  mkdirSync(cache, { recursive: true });
  const staging = mkdtempSync(join(cache, 'staging-'));
  try {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const project = join(root, ...HERE, 'tsconfig.app.json');
    await run(process.execPath, [tsc, '-p', project, '--outDir', staging], { cwd: root });
    // Atomic publish; another process building the same sources concurrently may win the race.
    if (!existsSync(dir)) renameSync(staging, dir);
    pruneOtherBuilds(cache, dir);
  } catch (error) {
    if (!existsSync(entry)) throw error;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return entry;
}

/** Builds of older sources: running app processes have loaded theirs already, so they can go. */
function pruneOtherBuilds(cache: string, keep: string): void {
  for (const entry of readdirSync(cache)) {
    const path = join(cache, entry);
    if (path !== keep && !entry.startsWith('staging-')) rmSync(path, { recursive: true, force: true });
  }
}

/** A hash of everything the app is compiled from. */
function sourcesHash(root: string): string {
  const hash = createHash('sha1');
  const app = [join(root, ...HERE, 'throttled-app.ts'), join(root, ...HERE, 'tsconfig.app.json')];
  const files = [...walk(join(root, 'lib')), ...app, join(root, 'tsconfig.json')];
  for (const file of files.sort())
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}
