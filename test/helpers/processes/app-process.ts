import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { builtAppEntry } from './app-build';

/** How one `throttled-app.ts` process is configured (see that file). */
export interface AppProcessOptions {
  redisUrl?: string;
  rate?: string;
  platform?: 'express' | 'fastify';
  onCacheError?: 'allow' | 'deny';
  cacheTimeoutMs?: number;
  numProxies?: number;
  clockSkewSec?: number;
}

/**
 * A Nest app in a Node process of its own (`throttled-app.ts`, compiled by
 * `app-build.ts`), serving `GET /hit` on a free port. It runs with `--unhandled-rejections=strict`, so an unhandled
 * rejection kills it: `alive` going false is how a test sees one.
 */
export class AppProcess {
  private text = '';
  private exitCode: number | null | undefined;
  private port = 0;

  private constructor(private readonly child: ChildProcess) {
    const append = (chunk: Buffer) => (this.text += chunk.toString());
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    child.once('exit', (code) => (this.exitCode = code));
  }

  static async start(options: AppProcessOptions = {}): Promise<AppProcess> {
    const root = repoRoot();
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', PORT: '0', NODE_ENV: 'production' };
    const set = (name: string, value: string | number | undefined) => {
      if (value === undefined) delete env[name];
      else env[name] = String(value);
    };
    set('REDIS_URL', options.redisUrl);
    set('RATE', options.rate);
    set('PLATFORM', options.platform);
    set('ON_CACHE_ERROR', options.onCacheError);
    set('CACHE_TIMEOUT_MS', options.cacheTimeoutMs);
    set('NUM_PROXIES', options.numProxies);
    set('CLOCK_SKEW_SEC', options.clockSkewSec);
    const entry = await builtAppEntry(root);
    const child = spawn(process.execPath, ['--unhandled-rejections=strict', entry], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const app = new AppProcess(child);
    try {
      app.port = Number((await app.waitFor(/^READY (\d+)$/m, 30_000))[1]);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    return app;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Everything the process printed (stdout and stderr), Nest's warnings included. */
  get output(): string {
    return this.text;
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /** How many printed lines match `pattern`. */
  count(pattern: RegExp): number {
    return this.text.split('\n').filter((line) => pattern.test(line)).length;
  }

  /** Resolves with the first match of `pattern` in the output, printed already or later. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(this.text);
        if (match) {
          done();
          resolve(match);
        } else if (this.exitCode !== undefined) {
          done();
          reject(new Error(`the app process exited (${this.exitCode}) before printing ${pattern}:\n${this.text}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`the app process did not print ${pattern} within ${timeoutMs} ms:\n${this.text}`));
      }, timeoutMs);
      const poll = setInterval(check, 20);
      const done = () => {
        clearTimeout(timer);
        clearInterval(poll);
      };
      check();
    });
  }

  /** GET /hit as client `client` (the X-Forwarded-For the app trusts with NUM_PROXIES=1). */
  async hit(client: string): Promise<{ status: number; ms: number; body: string }> {
    const started = performance.now();
    const response = await fetch(`${this.url}/hit`, { headers: { 'x-forwarded-for': client } });
    const body = await response.text();
    return { status: response.status, ms: performance.now() - started, body };
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}

/** The checkout's root: the nearest directory up from here whose package.json is this package's. */
export function repoRoot(from = process.cwd()): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'restflow-throttle'
    ) {
      return dir;
    }
    if (dirname(dir) === dir)
      throw new Error(`run this from inside the restflow-throttle checkout (not found above ${from})`);
  }
}
