import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  connections: number;
  /** Seconds. */
  duration: number;
  /** Distinct X-Forwarded-For client addresses; 1 = every request from one client. */
  keys: number;
  /** Stop after this many requests instead (autocannon runs whole seconds, too long for a smoke test). */
  amount?: number;
}

export interface LoadResult {
  /** 2xx responses per second: a request a limiter broke does not count as served. */
  rps: number;
  /** Latency in milliseconds. */
  p50: number;
  p99: number;
  mean: number;
  total: number;
  non2xx: number;
  errors: number;
  /** CPU the load generator used, as a share of one core: near 1 would mean it, not the server, was the bottleneck. */
  loadCpu: number;
  /** The measured run's start and end on the system's monotonic clock, in µs (the clock of V8's CPU profiles). */
  startedUs: number;
  endedUs: number;
}

const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** The n-th client address: 10.0.0.1, 10.0.0.2, ... unique for n < 2^24. */
export function clientAddress(n: number): string {
  const i = n + 1;
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/**
 * One autocannon run. With many keys each connection cycles through its own
 * slice of the addresses, so requests are pre-built once (no per-request
 * work in the load generator) and all `keys` clients are seen every cycle.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { connections, keys } = options;
  const perConnection = Math.max(1, Math.ceil(keys / connections));
  let nextConnection = 0;
  const requestsFor = (connection: number): Array<{ method: 'GET'; path: string; headers: Record<string, string> }> => {
    const requests = [];
    for (let j = 0; j < perConnection; j++) {
      const n = keys === 1 ? 0 : (connection * perConnection + j) % keys;
      requests.push({ method: 'GET' as const, path: '/', headers: { 'x-forwarded-for': clientAddress(n) } });
    }
    return requests;
  };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const startedUs = monotonicUs();
  const result = await autocannon({
    url: options.url,
    connections,
    duration: options.duration,
    // autocannon checks for the end once per sample interval (1 s by default).
    ...(options.amount !== undefined ? { amount: options.amount, sampleInt: 50 } : {}),
    pipelining: 1,
    requests: requestsFor(0),
    setupClient: (client) => {
      const connection = nextConnection++;
      if (connection > 0) client.setRequests(requestsFor(connection % connections));
    },
  });
  const endedUs = monotonicUs();
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    rps: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    mean: result.latency.mean,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    loadCpu: (cpu.user + cpu.system) / 1e6 / elapsed,
    startedUs,
    endedUs,
  };
}
