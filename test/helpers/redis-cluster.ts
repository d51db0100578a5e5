import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { RedisServer } from './redis-server';

const run = promisify(execFile);

/**
 * A local Redis Cluster of the test's own: `masters` servers started with
 * `--cluster-enabled yes` on free ports, joined by `redis-cli --cluster
 * create`, no replicas. Ready once every node reports `cluster_state:ok`.
 */
export class RedisCluster {
  private constructor(readonly servers: readonly RedisServer[]) {}

  static async start(masters = 3): Promise<RedisCluster> {
    const servers: RedisServer[] = [];
    try {
      for (let i = 0; i < masters; i++) {
        servers.push(
          await RedisServer.start({
            clusterBus: true,
            args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'],
          }),
        );
      }
      const cluster = new RedisCluster(servers);
      await run('redis-cli', ['--cluster', 'create', ...cluster.nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
        timeout: 30_000,
      });
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

  async dispose(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.dispose()));
  }

  private async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = await Promise.all(this.servers.map(async (server) => String(await server.command('CLUSTER', 'INFO'))));
      const ready = states.every((state) => state.includes('cluster_state:ok') && state.includes(`cluster_known_nodes:${this.servers.length}`));
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`the Redis cluster did not become ready:\n${states.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
