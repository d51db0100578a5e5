import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether `taskset` can pin processes here (Linux with util-linux). */
export const HAS_TASKSET = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * `command args` pinned to one core. The pin is applied by exec'ing through
 * taskset, so every thread the process starts later (V8 GC helpers, libuv
 * pool) inherits it.
 */
export function pinned(core: number, command: string, args: string[]): [string, string[]] {
  return HAS_TASKSET ? ['taskset', ['-c', String(core), command, ...args]] : [command, args];
}

export interface Child<Message> {
  process: ChildProcess;
  /** The next IPC message for which `accept` is true. */
  next<T extends Message>(accept: (message: Message) => message is T, timeoutMs?: number): Promise<T>;
  send(message: unknown): void;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
}

/**
 * Runs a compiled bench script in its own Node process, pinned to `core`,
 * with an IPC channel (NODE_CHANNEL_FD survives taskset's exec).
 */
export function startChild<Message>(script: string, args: string[], core: number, nodeFlags: string[] = []): Child<Message> {
  const [command, argv] = pinned(core, process.execPath, [...nodeFlags, script, ...args]);
  const child = spawn(command, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const inbox: Message[] = [];
  const waiters: Array<() => void> = [];
  child.on('message', (message) => {
    inbox.push(message as Message);
    for (const wake of waiters.splice(0)) wake();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => {
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    process: child,
    exited,
    send: (message) => child.send(message as object),
    async next(accept, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = inbox.findIndex(accept);
        if (index >= 0) return inbox.splice(index, 1)[0] as never;
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`${script} ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before answering`);
        }
        if (Date.now() > deadline) throw new Error(`${script} ${args.join(' ')}: no answer within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
  };
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  port: number;
  version: string;
  /** Drops every key, so each run starts from an empty Redis. */
  flush(): void;
  /** A redis-cli command against this server; its output. */
  cli(...args: string[]): string;
  stop(): Promise<void>;
}

/** The bench's own redis-server on a free port (never 6379), no persistence, pinned to `core`. */
export async function startRedis(core: number): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'restflow-bench-redis-'));
  const [command, args] = pinned(core, 'redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
  ]);
  const server = spawn(command, args, { stdio: 'ignore' });
  const cli = (...argv: string[]): string =>
    spawnSync('redis-cli', ['-p', String(port), ...argv], { encoding: 'utf8' }).stdout?.trim() ?? '';
  const deadline = Date.now() + 10_000;
  while (cli('PING') !== 'PONG') {
    if (server.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const version = /redis_version:(\S+)/.exec(cli('INFO', 'server'))?.[1] ?? 'unknown';
  return {
    port,
    version,
    flush: () => void cli('FLUSHALL'),
    cli,
    async stop() {
      if (server.exitCode === null && server.signalCode === null) {
        const gone = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
