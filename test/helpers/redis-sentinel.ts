import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisServer, redisCommand, requireRedisBinaries } from './redis-server';

/** The master's name in every sentinel's configuration: what a client asks the sentinels for. */
export const SENTINEL_MASTER_NAME = 'mymaster';

export interface RedisSentinelOptions {
  /** Sentinels watching the master; the quorum is a majority of them. Default 3. */
  sentinels?: number;
  /** Silence after which a sentinel holds the master down. Default 500 ms, so a failover takes seconds. */
  downAfterMs?: number;
  /** Sentinel's `failover-timeout`. Default 2 000 ms. */
  failoverTimeoutMs?: number;
}

/**
 * A Sentinel setup of the test's own, on free loopback ports: a master, one
 * replica (`--replicaof`) and sentinels (`redis-server <conf> --sentinel`),
 * each sentinel in a directory of its own because sentinels rewrite their
 * configuration file. Ready once the replica is in sync and every sentinel
 * knows the replica and the other sentinels, so that killing the master
 * leads to a promotion. Throws, rather than skips, when `redis-server` is
 * not installed.
 */
export class RedisSentinelSetup {
  private constructor(
    readonly master: RedisServer,
    readonly replica: RedisServer,
    private readonly sentinelProcesses: readonly SentinelProcess[],
  ) {}

  static async start(options: RedisSentinelOptions = {}): Promise<RedisSentinelSetup> {
    requireRedisBinaries();
    const count = options.sentinels ?? 3;
    const quorum = Math.floor(count / 2) + 1;
    const servers: RedisServer[] = [];
    const sentinels: SentinelProcess[] = [];
    try {
      const master = await RedisServer.start();
      servers.push(master);
      const replica = await RedisServer.start({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
      servers.push(replica);
      for (let i = 0; i < count; i++) {
        const config = [
          'sentinel resolve-hostnames no',
          `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${master.port} ${quorum}`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${options.downAfterMs ?? 500}`,
          `sentinel failover-timeout ${SENTINEL_MASTER_NAME} ${options.failoverTimeoutMs ?? 2000}`,
          `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
        ];
        sentinels.push(await SentinelProcess.start(config));
      }
      const setup = new RedisSentinelSetup(master, replica, sentinels);
      await setup.waitUntilReady(count);
      return setup;
    } catch (error) {
      await Promise.all([...sentinels, ...servers].map((member) => member.dispose()));
      throw error;
    }
  }

  /** The sentinels' addresses, for ioredis' `sentinels` option. */
  get sentinels(): Array<{ host: string; port: number }> {
    return this.sentinelProcesses.map((sentinel) => ({ host: '127.0.0.1', port: sentinel.port }));
  }

  /** The master's port as the sentinels announce it now (`SENTINEL get-master-addr-by-name`), asked of each. */
  async masterPorts(): Promise<number[]> {
    return Promise.all(
      this.sentinelProcesses.map(async (sentinel) => {
        const reply = await redisCommand(sentinel.port, ['SENTINEL', 'get-master-addr-by-name', SENTINEL_MASTER_NAME]);
        return Number((reply as string[])[1]);
      }),
    );
  }

  /**
   * Waits until every sentinel names the replica as the master and the
   * replica says it is one; fails after `ms`. Resolves with the time it took.
   */
  async waitForPromotion(ms: number): Promise<number> {
    const started = Date.now();
    for (;;) {
      const ports = await this.masterPorts().catch(() => []);
      if (ports.length > 0 && ports.every((port) => port === this.replica.port)) {
        const role = (await this.replica.info('replication')).get('role');
        if (role === 'master') return Date.now() - started;
      }
      if (Date.now() - started > ms) {
        throw new Error(`no promotion within ${ms} ms; sentinels name ports ${ports.join(', ')}:\n${this.output()}`);
      }
      await sleep(50);
    }
  }

  /** What the sentinels printed, for failure messages. */
  output(): string {
    return this.sentinelProcesses.map((sentinel) => `--- sentinel ${sentinel.port}\n${sentinel.output}`).join('\n');
  }

  async dispose(): Promise<void> {
    await Promise.all([
      ...this.sentinelProcesses.map((sentinel) => sentinel.dispose()),
      this.master.dispose(),
      this.replica.dispose(),
    ]);
  }

  /** The replica in sync, and each sentinel aware of it and of the other sentinels (they meet through the master). */
  private async waitUntilReady(count: number): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const link = (await this.replica.info('replication')).get('master_link_status');
      const views = await Promise.all(this.sentinelProcesses.map((sentinel) => sentinel.masterView()));
      const others = String(count - 1);
      const ready = views.every((view) => view.get('num-slaves') === '1' && view.get('num-other-sentinels') === others);
      if (link === 'up' && ready) return;
      const seen = views.map((view) => `${view.get('num-slaves')} replica, ${view.get('num-other-sentinels')} others`);
      const state = `replica link ${link}; the sentinels see ${seen.join('; ')}`;
      if (Date.now() > deadline) {
        throw new Error(`the Sentinel setup did not become ready in 15 s: ${state}\n${this.output()}`);
      }
      await sleep(100);
    }
  }
}

/** One `redis-server <conf> --sentinel` process, in a temporary directory of its own. */
class SentinelProcess {
  output = '';
  private exited: Promise<void>;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  static async start(monitorLines: readonly string[]): Promise<SentinelProcess> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freeLoopbackPort();
      const dir = mkdtempSync(join(tmpdir(), `restflow-sentinel-${port}-`));
      const conf = join(dir, 'sentinel.conf');
      const lines = [`port ${port}`, 'bind 127.0.0.1', 'protected-mode no', `dir ${dir}`, ...monitorLines];
      writeFileSync(conf, `${lines.join('\n')}\n`);
      const child = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const sentinel = new SentinelProcess(port, dir, child);
      try {
        await sentinel.waitUntilAnswering();
        return sentinel;
      } catch (error) {
        // Another process may have taken the port between the probe and the start.
        lastError = error;
        await sentinel.dispose();
      }
    }
    throw lastError;
  }

  /** `SENTINEL master <name>`: this sentinel's view of the master, as a map of fields. */
  async masterView(): Promise<Map<string, string>> {
    const fields = (await redisCommand(this.port, ['SENTINEL', 'master', SENTINEL_MASTER_NAME])) as string[];
    const view = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) view.set(fields[i], fields[i + 1]);
    return view;
  }

  async dispose(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async waitUntilAnswering(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`sentinel on port ${this.port} exited:\n${this.output}`);
      if ((await redisCommand(this.port, ['PING']).catch(() => undefined)) === 'PONG') return;
      if (Date.now() > deadline) {
        throw new Error(`sentinel on port ${this.port} did not answer in 10 s:\n${this.output}`);
      }
      await sleep(20);
    }
  }
}

/** A loopback port nobody listens on now. */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
