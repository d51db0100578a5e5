import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on a free loopback port in front of a server (the test's
 * redis-server) that holds what passes through it for a set number of
 * milliseconds: `toClientMs` for what the server sends (its replies),
 * `toServerMs` for what the clients send (their commands). Both can be
 * changed while it runs; bytes leave in the order they came, each no sooner
 * than its delay after the proxy read it. So a test gets a server whose
 * round trip is as slow as it likes, on either leg, without touching the
 * server. The proxy runs on the test's event loop: while that loop is busy
 * it reads nothing, so a busy loop adds its busy time to the delay.
 */
export class DelayProxy {
  /** Milliseconds each chunk from the server is held before the client gets it. */
  toClientMs: number;
  /** Milliseconds each chunk from a client is held before the server gets it. */
  toServerMs: number;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    delays: { toClientMs?: number; toServerMs?: number },
  ) {
    this.toClientMs = delays.toClientMs ?? 0;
    this.toServerMs = delays.toServerMs ?? 0;
  }

  /** Listens on 127.0.0.1 (a free port) and forwards each connection to 127.0.0.1:`upstreamPort`. */
  static async start(
    upstreamPort: number,
    delays: { toClientMs?: number; toServerMs?: number } = {},
  ): Promise<DelayProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new DelayProxy(server, (server.address() as { port: number }).port, delays);
    server.on('connection', (client) => proxy.pipe(client, connect(upstreamPort, '127.0.0.1')));
    return proxy;
  }

  /** Stops listening and drops every connection, with whatever it still held. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pipe(client: Socket, upstream: Socket): void {
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => undefined);
      socket.once('close', () => {
        this.sockets.delete(socket);
        // A connection closed at one end is closed at the other: the client sees the server go, and back.
        client.destroy();
        upstream.destroy();
      });
    }
    this.forward(client, upstream, () => this.toServerMs);
    this.forward(upstream, client, () => this.toClientMs);
  }

  /** `from`'s chunks to `to`, each held `delayMs()` (read when it arrives), never overtaking an earlier one. */
  private forward(from: Socket, to: Socket, delayMs: () => number): void {
    const held: Array<{ due: number; chunk: Buffer }> = [];
    let timer: NodeJS.Timeout | undefined;
    const release = (): void => {
      if (timer !== undefined) this.timers.delete(timer);
      timer = undefined;
      // Timers fire on a millisecond clock: a chunk due within the next millisecond goes now.
      const now = performance.now() + 1;
      for (let next = held[0]; next !== undefined && next.due <= now; next = held[0]) {
        held.shift();
        to.write(next.chunk);
      }
      if (held.length > 0) wake(held[0].due - performance.now());
    };
    const wake = (ms: number): void => {
      timer = setTimeout(release, Math.max(0, ms));
      this.timers.add(timer);
    };
    from.on('data', (chunk: Buffer) => {
      const ms = delayMs();
      // Not delayed, nothing held: on at once, not a timer (and an event-loop turn) later.
      if (ms <= 0 && held.length === 0) {
        to.write(chunk);
        return;
      }
      const last = held.at(-1)?.due ?? 0;
      held.push({ due: Math.max(performance.now() + ms, last), chunk });
      if (timer === undefined) wake(held[0].due - performance.now());
    });
  }
}
