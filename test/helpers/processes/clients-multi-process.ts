/**
 * The multi-process proof for each Redis client family: `processes` Node
 * processes serve clients-app.ts with Redis in the form `client` names, and
 * `requests` concurrent requests from one client are spread round-robin over
 * them. Used by test/redis/clients-multi-process.e2e-spec.ts and test/redis/demos/multi-process.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { builtAppEntry, HERE } from './app-build';
import { repoRoot } from './app-process';
import type { MultiProcessResult } from './multi-process-run';

/** Every form of Redis clients-app.ts can be given (see its header). */
export const CLIENT_FAMILIES = ['nest-keyv-redis', 'keyv-valkey', 'node-redis', 'iovalkey', 'ioredis'] as const;
export type ClientFamily = (typeof CLIENT_FAMILIES)[number] | 'node-redis-cluster';

export interface ClientRunOptions {
  client: ClientFamily;
  /** The Redis server, or one node of the cluster. */
  redisUrl: string;
  processes?: number;
  requests?: number;
  rate?: string;
  platform?: 'express' | 'fastify';
}

export async function runClientFamily(options: ClientRunOptions): Promise<MultiProcessResult> {
  const { processes = 4, requests = 400, rate = '100/min' } = options;
  const entry = await clientsAppEntry();
  const env = {
    ...process.env,
    NO_COLOR: '1',
    NODE_ENV: 'production',
    CLIENT: options.client,
    REDIS_URL: options.redisUrl,
    RATE: rate,
    PLATFORM: options.platform ?? 'express',
  };
  const apps = await Promise.allSettled(Array.from({ length: processes }, () => ClientApp.start(entry, env)));
  const started = apps.flatMap((app) => (app.status === 'fulfilled' ? [app.value] : []));
  try {
    const failed = apps.find((app): app is PromiseRejectedResult => app.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const client = `clients-${options.client}-${process.pid}-${Date.now()}`;
    const statuses: Record<number, number> = {};
    const admittedPerProcess = started.map(() => 0);
    await Promise.all(
      Array.from({ length: requests }, async (_, i) => {
        const status = await started[i % processes].hit(client);
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status === 200) admittedPerProcess[i % processes]++;
      }),
    );
    return { statuses, admittedPerProcess };
  } finally {
    await Promise.all(started.map((app) => app.stop()));
  }
}

/**
 * clients-app.ts compiled to CommonJS beside throttled-app.js in the library build of
 * `app-build.ts` (whose output mirrors the repository, so the app's
 * `../../../lib/index` import finds the compiled library there). One file,
 * transpiled in a few milliseconds; its hash names it, so a stale copy is never run.
 */
async function clientsAppEntry(): Promise<string> {
  const root = repoRoot();
  const entryDir = dirname(await builtAppEntry(root));
  const source = readFileSync(join(root, ...HERE, 'clients-app.ts'), 'utf8');
  const hash = createHash('sha1').update(source).digest('hex').slice(0, 12);
  const entry = join(entryDir, `clients-app-${hash}.js`);
  if (existsSync(entry)) return entry;
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      esModuleInterop: true,
    },
  });
  mkdirSync(dirname(entry), { recursive: true });
  const staging = `${entry}.${process.pid}.tmp`;
  writeFileSync(staging, outputText);
  renameSync(staging, entry);
  return entry;
}

/** One clients-app.ts process, serving on a free port. */
class ClientApp {
  private text = '';
  private exited = false;
  private port = 0;

  private constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.text += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.text += chunk.toString()));
    child.once('exit', () => (this.exited = true));
  }

  static async start(entry: string, env: NodeJS.ProcessEnv): Promise<ClientApp> {
    const child = spawn(process.execPath, ['--unhandled-rejections=strict', entry], {
      cwd: repoRoot(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const app = new ClientApp(child);
    try {
      app.port = await app.ready(30_000);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    return app;
  }

  async hit(client: string): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${this.port}/hit`, { headers: { 'x-forwarded-for': client } });
    await response.arrayBuffer();
    return response.status;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }

  private ready(timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const poll = setInterval(() => {
        const match = /^READY (\d+)$/m.exec(this.text);
        if (match !== null) {
          clearInterval(poll);
          resolve(Number(match[1]));
        } else if (this.exited || Date.now() - started > timeoutMs) {
          clearInterval(poll);
          reject(new Error(`clients-app (${this.exited ? 'exited' : 'timed out'}) never printed READY:\n${this.text}`));
        }
      }, 20);
    });
  }
}
