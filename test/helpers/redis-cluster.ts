import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { RedisServer } from './redis-server';

const run = promisify(execFile);

/** How a test's Cluster is made. */
export interface RedisClusterOptions {
  /** Replicas per master (default 0): with 1, a killed master's replica is promoted. */
  readonly replicas?: number;
  /** `cluster-node-timeout` (default 5000): how long a master may not answer before the others fail it over. */
  readonly nodeTimeoutMs?: number;
  /** More `redis-server` arguments for every node. */
  readonly args?: readonly string[];
}

/** A node as `CLUSTER NODES` describes it, with the test's server behind it. */
export interface ClusterNode {
  readonly server: RedisServer;
  readonly id: string;
  readonly role: 'master' | 'replica';
  /** A replica's master's id. */
  readonly masterId?: string;
  /** The slot ranges a master serves, `[from, to]` inclusive. */
  readonly slots: ReadonlyArray<readonly [number, number]>;
  /** Flagged failed by the node asked (`fail` or `fail?`). */
  readonly failed: boolean;
}

/**
 * A local Redis Cluster of the test's own: `masters` servers (and `replicas`
 * per master) started with `--cluster-enabled yes` on free ports, joined by
 * `redis-cli --cluster create`. Ready once every node reports
 * `cluster_state:ok` and knows every other, and every replica is in sync.
 */
export class RedisCluster {
  private constructor(readonly servers: readonly RedisServer[]) {}

  static async start(masters = 3, options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const replicas = options.replicas ?? 0;
    const nodeTimeout = String(options.nodeTimeoutMs ?? 5000);
    const servers: RedisServer[] = [];
    try {
      for (let i = 0; i < masters * (1 + replicas); i++) {
        servers.push(
          await RedisServer.start({
            clusterBus: true,
            args: [
              ...[
                '--cluster-enabled',
                'yes',
                '--cluster-config-file',
                'nodes.conf',
                '--cluster-node-timeout',
                nodeTimeout,
              ],
              ...(options.args ?? []),
            ],
          }),
        );
      }
      const cluster = new RedisCluster(servers);
      const addresses = cluster.nodes.map((n) => `${n.host}:${n.port}`);
      await run(
        'redis-cli',
        ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes'],
        {
          timeout: 30_000,
        },
      );
      await cluster.waitUntilReady();
      return cluster;
    } catch (error) {
      await Promise.all(servers.map((server) => server.dispose()));
      throw error;
    }
  }

  /** Seed nodes for `new Redis.Cluster(nodes)` or `redisStore({ clusterConfig: { nodes } })`. */
  get nodes(): Array<{ host: string; port: number }> {
    return this.servers.map((server) => ({ host: '127.0.0.1', port: server.port }));
  }

  /** The Cluster as `asked` (default: the first running server that answers) sees it now. */
  async topology(asked?: RedisServer): Promise<ClusterNode[]> {
    const server = asked ?? this.servers.find((s) => s.isRunning);
    if (server === undefined) throw new Error('no server of the cluster is running');
    const text = String(await server.command('CLUSTER', 'NODES'));
    return text
      .trim()
      .split('\n')
      .map((line) => {
        const [id, address, flags, masterId, , , , , ...slots] = line.trim().split(' ');
        const port = Number(address.split('@')[0].split(':')[1]);
        const node = this.servers.find((s) => s.port === port);
        if (node === undefined) throw new Error(`CLUSTER NODES names a server the test did not start: ${line}`);
        const role = flags.split(',').includes('master') ? 'master' : 'replica';
        return {
          server: node,
          id,
          role,
          ...(role === 'replica' ? { masterId } : {}),
          slots: slots.filter((s) => !s.startsWith('[')).map((s) => rangeOf(s)),
          failed: flags.split(',').some((flag) => flag === 'fail' || flag === 'fail?'),
        } satisfies ClusterNode;
      });
  }

  /** The server whose master role serves `slot` now, as `asked` sees it. */
  async masterOf(slot: number, asked?: RedisServer): Promise<RedisServer | undefined> {
    const nodes = await this.topology(asked);
    return nodes.find(
      (n) => n.role === 'master' && !n.failed && n.slots.some(([from, to]) => from <= slot && slot <= to),
    )?.server;
  }

  /** Sets `cluster-node-timeout` on every running node: short for a quick failover, long so a freeze causes none. */
  async setNodeTimeout(ms: number): Promise<void> {
    await Promise.all(
      this.servers
        .filter((s) => s.isRunning)
        .map((s) => s.command('CONFIG', 'SET', 'cluster-node-timeout', String(ms))),
    );
  }

  async dispose(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.dispose()));
  }

  private async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = await Promise.all(
        this.servers.map(async (server) => {
          const info = String(await server.command('CLUSTER', 'INFO'));
          const replication = String(await server.command('INFO', 'replication'));
          return `${info}\n${replication}`;
        }),
      );
      const ready = states.every(
        (state) =>
          state.includes('cluster_state:ok') &&
          state.includes(`cluster_known_nodes:${this.servers.length}`) &&
          (state.includes('role:master') || state.includes('master_link_status:up')),
      );
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`the Redis cluster did not become ready:\n${states.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** `5461-10922` or `42` as `[from, to]`. */
function rangeOf(text: string): readonly [number, number] {
  const [from, to] = text.split('-').map(Number);
  return [from, to ?? from];
}
