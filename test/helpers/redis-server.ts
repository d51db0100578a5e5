import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * A redis-server of the suite's own and an ioredis client of it, started in `beforeAll` and stopped in `afterAll`.
 * Read `suite.server` and `suite.client` in tests and hooks (not while the file loads: they start later).
 */
export function redisForSuite(): { readonly server: RedisServer; readonly client: Redis } {
  let server: RedisServer | undefined;
  let client: Redis | undefined;
  beforeAll(async () => {
    server = await RedisServer.start();
    client = new Redis({ host: '127.0.0.1', port: server.port });
    client.on('error', () => undefined);
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.dispose();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('redisForSuite(): the server starts in beforeAll; read it in a test');
    return value;
  };
  return {
    get server() {
      return started(server);
    },
    get client() {
      return started(client);
    },
  };
}

/**
 * A `redis-server` process of the test's own, on a free port, with nothing
 * persisted, that the test can stop, freeze and restart on the same port.
 * The tests never touch a Redis they did not start.
 */
export class RedisServer {
  private process?: ChildProcess;
  private exited?: Promise<void>;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly extraArgs: readonly string[],
  ) {}

  /**
   * Starts a server on a free port (plus `port + 10000` free too when
   * `clusterBus` is set, for the cluster bus). Throws, rather than skips,
   * when `redis-server` is not installed.
   */
  static async start(options: { args?: readonly string[]; clusterBus?: boolean } = {}): Promise<RedisServer> {
    requireRedisBinaries();
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort(options.clusterBus === true);
      const dir = mkdtempSync(join(tmpdir(), `restflow-redis-${port}-`));
      const server = new RedisServer(port, dir, options.args ?? []);
      try {
        await server.launch();
        return server;
      } catch (error) {
        // Another process may have taken the port between the probe and the start.
        lastError = error;
        rmSync(dir, { recursive: true, force: true });
      }
    }
    throw lastError;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get isRunning(): boolean {
    return this.process !== undefined;
  }

  /** Kills the server (SIGKILL by default: a crash, not a shutdown) and waits until it is gone. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.process;
    if (child === undefined) return;
    child.kill('SIGCONT'); // a frozen process must be able to die
    child.kill(signal);
    await this.exited;
  }

  /** Starts the server again on the same port, with an empty dataset. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** SIGSTOP: the server keeps its connections but answers nothing, like a hung host. */
  freeze(): void {
    this.process?.kill('SIGSTOP');
  }

  thaw(): void {
    this.process?.kill('SIGCONT');
  }

  /** Runs one command on a connection of its own, so the test's clients are not involved. */
  async command(...args: string[]): Promise<unknown> {
    return redisCommand(this.port, args);
  }

  /** `INFO <section>` as a map of fields. */
  async info(section: string): Promise<Map<string, string>> {
    return parseInfo(String(await this.command('INFO', section)));
  }

  /** Calls of each command so far, from `INFO commandstats`. */
  async commandCalls(): Promise<Map<string, number>> {
    return parseCommandCalls(String(await this.command('INFO', 'commandstats')));
  }

  /** What `action` resolves to, and how many times it made Redis run each command (lower-case name). */
  async callsDuring<T>(action: () => T | Promise<T>): Promise<{ result: T; calls: (command: string) => number }> {
    const before = await this.commandCalls();
    const result = await action();
    const after = await this.commandCalls();
    return { result, calls: (command) => (after.get(command) ?? 0) - (before.get(command) ?? 0) };
  }

  /** Stops the server for good and removes its directory. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.dir,
    ];
    const child = spawn('redis-server', [...args, ...this.extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        if (this.process === child) this.process = undefined;
        resolve();
      }),
    );
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error(`redis-server on port ${this.port} did not start in 10 s:\n${output}`)),
        10_000,
      );
      const fail = (error: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(error);
      };
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) =>
        fail(new Error(`redis-server on port ${this.port} exited with ${code}:\n${output}`)),
      );
    });
  }
}

/** The `field:value` lines of an INFO reply. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** Calls per command from an `INFO commandstats` reply: `evalsha` -> 12. */
export function parseCommandCalls(text: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const [field, value] of parseInfo(text)) {
    const match = /^calls=(\d+)/.exec(value);
    if (field.startsWith('cmdstat_') && match) calls.set(field.slice('cmdstat_'.length), Number(match[1]));
  }
  return calls;
}

/** Runs one command against 127.0.0.1:port on a short-lived connection. */
export async function redisCommand(port: number, args: readonly string[]): Promise<unknown> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(args[0], ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

/** Fails with a clear message when the Redis binaries are missing: these tests must not be skipped. */
export function requireRedisBinaries(): void {
  for (const binary of ['redis-server', 'redis-cli']) {
    const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
    if (probe.error !== undefined || probe.status !== 0) {
      throw new Error(
        `'${binary}' is required by the Redis tests and was not found on PATH (install redis-server 7, e.g. apt-get install redis-server).`,
      );
    }
  }
}

/** A port nobody listens on now; with `bus`, `port + 10000` (Redis Cluster's bus port) is free too. */
async function freePort(bus: boolean): Promise<number> {
  for (;;) {
    const port = await listenAndRelease(bus ? 10_000 + Math.floor(Math.random() * 40_000) : 0);
    if (port === undefined) continue;
    if (!bus || (await listenAndRelease(port + 10_000)) !== undefined) return port;
  }
}

function listenAndRelease(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}
