import { LIMITER_LABELS, type Limiter } from './config';
import { evaluateTargets, httpRows, type BenchResults, type HttpRow, type ProfiledRun, type Target } from './summary';

const MB = 1024 * 1024;
const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const ms = (n: number): string => `${n} ms`;
const x = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}x` : 'n/a');
const pct = (n: number): string => `${(n * 100).toFixed(1)}%`;
const signedUs = (us: number): string => `${us >= 0 ? '+' : '-'}${Math.abs(us).toFixed(1)} µs`;
const keysLabel = (keys: number): string => (keys === 1 ? '1 key' : `${int(keys)} keys`);

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function httpSection(results: BenchResults, rows: HttpRow[]): string {
  const platforms = [...new Set(rows.map((r) => r.platform))];
  const baseOf = (r: HttpRow): HttpRow | undefined => rows.find((b) => b.platform === r.platform && b.keys === r.keys && b.limiter === 'none');
  const out: string[] = [];
  for (const platform of platforms) {
    out.push(`### ${platform === 'fastify' ? 'Fastify' : 'Express'}\n`);
    const body = rows
      .filter((r) => r.platform === platform)
      .sort((a, b) => a.keys - b.keys)
      .map((r) => [
        keysLabel(r.keys),
        LIMITER_LABELS[r.limiter],
        int(r.rps),
        r.limiter === 'none' ? '1.00x (baseline)' : `**${x(r.ratio)}** (${x(r.ratioRange[0])}-${x(r.ratioRange[1])})`,
        int(r.perCpu),
        r.limiter === 'none' ? '1.00x' : x(r.cpuRatio),
        r.limiter === 'none' ? `(${(1e6 / r.perCpu).toFixed(1)} µs)` : signedUs(1e6 / r.perCpu - 1e6 / (baseOf(r)?.perCpu ?? NaN)),
        ms(r.p50),
        ms(r.p99),
        r.non2xx || r.errors ? `${int(r.non2xx)} / ${int(r.errors)}` : '0',
        pct(r.loadCpu),
        Number.isFinite(r.redisCpu) ? pct(r.redisCpu) : '-',
      ]);
    out.push(
      table(
        ['clients', 'limiter', 'req/s (median)', 'x no guard, same round (median, min-max)', 'req per server CPU-s', 'x no guard (CPU)', 'server CPU per request over no guard', 'p50', 'p99', 'non-2xx / errors', 'load gen CPU', 'redis-server CPU'],
        body,
      ),
      '',
    );
  }
  void results;
  return out.join('\n');
}

function decisionsSection(results: BenchResults): string {
  const rows = results.decisions.map((d) => [
    d.store,
    int(d.limit),
    d.allowedPerSec === null ? 'n/a' : int(d.allowedPerSec),
    d.deniedPerSec === null ? 'n/a' : int(d.deniedPerSec),
    String(d.unexpected),
    d.note ?? '',
  ]);
  const commands = Object.entries(results.redisCommandsPerDecision)
    .map(([name, n]) => `${name} ${n.toFixed(2)}`)
    .join(', ');
  return [
    table(['store', 'limit', 'allowed decisions/s (log full, sliding)', 'denied decisions/s (429 built)', 'unexpected outcomes', 'note'], rows),
    '',
    commands
      ? `Redis commands seen by the server per decision (\`INFO commandstats\`, which also counts the commands a Lua script runs): ${commands}.`
      : '',
  ].join('\n');
}

function memorySection(results: BenchResults): string {
  const rows = results.memory.map((m) => [
    m.defaultCap ? `default (${int(m.maxKeys)})` : int(m.maxKeys),
    int(m.clients),
    int(m.keysHeld),
    `${(m.rssBefore / MB).toFixed(0)} MB`,
    `**${(m.rssAfter / MB).toFixed(0)} MB**`,
    `${(m.heapBefore / MB).toFixed(0)} MB`,
    `${(m.heapAfter / MB).toFixed(0)} MB`,
    int(m.bytesPerKey),
    int(m.decisionsPerSec),
  ]);
  return table(['memoryCacheMaxKeys', 'clients', 'keys held', 'RSS before', 'RSS after', 'heap before', 'heap after', 'heap bytes / key', 'decisions/s'], rows);
}

/** What a profiled run costs the server per request beyond its no-guard twin, by area (self time, µs); '' without a twin. */
function costOverBaseline(results: BenchResults, p: ProfiledRun): string {
  const base = results.profiles.find(
    (b) => b.scenario.limiter === 'none' && b.scenario.platform === p.scenario.platform && b.scenario.keys === p.scenario.keys,
  );
  if (base === undefined || base === p) return '';
  const us = (run: ProfiledRun, area: string): number => (run.byArea.find((a) => a.area === area)?.share ?? 0) * run.cpuPerRequestUs;
  const areas = [...new Set([...p.byArea, ...base.byArea].map((a) => a.area))]
    .map((area) => ({ area, delta: us(p, area) - us(base, area) }))
    .filter((d) => Math.abs(d.delta) >= 0.1)
    .sort((a, b) => b.delta - a.delta);
  return (
    `Server CPU per request over the no-guard profile: **${(p.cpuPerRequestUs - base.cpuPerRequestUs).toFixed(1)} µs** ` +
    `(${areas.map((d) => `${d.area} ${d.delta >= 0 ? '+' : ''}${d.delta.toFixed(1)}`).join(', ')}; self time, µs).`
  );
}

function profilesSection(results: BenchResults): string {
  const out: string[] = [];
  for (const p of results.profiles) {
    out.push(`### ${p.label} (${int(p.rps)} req/s, ${p.cpuPerRequestUs.toFixed(1)} µs of server CPU per request, while profiled)\n`);
    const extra = costOverBaseline(results, p);
    if (extra) out.push(`${extra}\n`);
    const inclusive = p.inclusive.map((i) => `${i.area} ${pct(i.share)}`).join(', ') || 'none';
    out.push(`Inside the limiter, callees included: **${inclusive}** of the server's busy CPU.\n`);
    out.push(`Self time by area: ${p.byArea.map((a) => `${a.area} ${pct(a.share)}`).join(', ')}.\n`);
    for (const inside of p.insideLimiter) {
      out.push(`Inside ${inside.limiter}, by the function on top of the stack: ${inside.top.map((t) => `\`${t.name}\` ${pct(t.share)}`).join(', ')}.\n`);
    }
    out.push(table(['function (self time)', 'area', 'share'], p.top.map((t) => [`\`${t.name}\``, t.area, pct(t.share)])), '');
  }
  return out.join('\n');
}

/** What the profiles say about a missed target, from this run's numbers (not hand-written). */
function missNotes(results: BenchResults, rows: HttpRow[]): string[] {
  const notes: string[] = [];
  const ratioOf = (platform: string, keys: number, limiter: Limiter): number =>
    rows.find((r) => r.platform === platform && r.keys === keys && r.limiter === limiter)?.ratio ?? NaN;
  const profileOf = (scenario: Target['scenario'], limiter?: Limiter) =>
    results.profiles.find(
      (p) => scenario && p.scenario.platform === scenario.platform && p.scenario.keys === scenario.keys && p.scenario.limiter === (limiter ?? scenario.limiter),
    );
  const inside = (p: ProfiledRun | undefined, area: string): string => {
    const share = p?.inclusive.find((i) => i.area === area)?.share;
    return share === undefined ? 'n/a' : pct(share);
  };
  const selfOf = (p: ProfiledRun | undefined, area: string): string => {
    const share = p?.byArea.find((a) => a.area === area)?.share;
    return share === undefined ? 'n/a' : pct(share);
  };
  for (const t of evaluateTargets(results).filter((t) => t.met === false)) {
    const head = `- **${t.target}, ${t.where}: ${t.measured}.**`;
    const s = t.scenario;
    const p = profileOf(s);
    if (s === undefined || p === undefined) {
      notes.push(`${head} No profile of this scenario was taken; see the tables below.`);
    } else if (t.target.startsWith('memory path')) {
      const perRequest = (limiter: Limiter): string => {
        const row = rows.find((r) => r.platform === s.platform && r.keys === s.keys && r.limiter === limiter);
        const base = rows.find((r) => r.platform === s.platform && r.keys === s.keys && r.limiter === 'none');
        return row && base ? signedUs(1e6 / row.perCpu - 1e6 / base.perCpu) : 'n/a';
      };
      notes.push(
        `${head} In server CPU per request that is ${perRequest('restflow-memory')} over no guard, on a request that costs ` +
          `${(1e6 / (rows.find((r) => r.platform === s.platform && r.keys === s.keys && r.limiter === 'none')?.perCpu ?? NaN)).toFixed(1)} µs without one. ` +
          `A no-op global guard alone measured ${x(ratioOf(s.platform, s.keys, 'noop-guard'))} (${perRequest('noop-guard')}) in the same rounds: that is Nest's guard pipeline ` +
          `(execution context, guards consumer, the awaited result), which any guard pays. The profile puts ${inside(p, 'restflow-throttle')} of the server's busy CPU ` +
          `inside restflow-throttle (callees included), against ${selfOf(p, 'node core (http, net, streams)')} in Node's HTTP stack and ${selfOf(p, 'GC')} in GC. ` +
          costOverBaseline(results, p),
      );
    } else {
      const rival = profileOf(s, 'nestjs-throttler-redis');
      const row = rows.find((r) => r.platform === s.platform && r.keys === s.keys && r.limiter === s.limiter);
      const core = row ? row.loadCpu + row.redisCpu : NaN;
      notes.push(
        `${head} Profile: ${inside(p, 'restflow-throttle')} of busy CPU inside restflow-throttle (callees included: the Redis client, the deadline), ` +
          `ioredis/cache-manager ${selfOf(p, 'ioredis / cache-manager')} self, GC ${selfOf(p, 'GC')}` +
          (rival ? `; @nestjs/throttler + @nest-lab storage: ${inside(rival, '@nestjs/throttler')} inside @nestjs/throttler, ${inside(rival, '@nest-lab storage')} inside the storage` : '') +
          `. redis-server shares the load generator's core on this 2-core machine: together they used ${Number.isFinite(core) ? pct(core) : 'n/a'} of it in this scenario` +
          (core >= 0.9 ? ', so that core, not the app\'s, was the limit. ' : ', so the app\'s core was the limit. ') +
          costOverBaseline(results, p) +
          (rival ? ` @nestjs/throttler + @nest-lab: ${costOverBaseline(results, rival).replace('Server CPU per request over the no-guard profile: ', '')}` : ''),
      );
    }
  }
  return notes;
}

export function renderReport(results: BenchResults): string {
  const rows = httpRows(results.http);
  const targets = evaluateTargets(results);
  const status = (met: boolean | null): string => (met === null ? 'not measured' : met ? 'met' : '**missed**');
  const s = results.settings;
  const m = results.machine;
  return [
    '# Benchmarks: restflow-throttle and @nestjs/throttler, side by side',
    '',
    `Generated by \`${results.command}\` from ${results.startedAt} to ${results.finishedAt}, commit \`${results.commit}\`. ` +
      'Do not edit by hand: rerun the command. Raw numbers: [results.json](results.json).',
    '',
    '![Throughput of each limiter as a share of the same app without a guard](results.svg)',
    '',
    '## Targets',
    '',
    table(['target', 'where', 'measured', 'status'], targets.map((t) => [t.target, t.where, t.measured, status(t.met)])),
    '',
    ...(targets.some((t) => t.met === false) ? ['Why a target was missed (from this run\'s profiles):', '', ...missNotes(results, rows), ''] : []),
    '## HTTP throughput',
    '',
    `A Nest ${results.versions['@nestjs/core']} app with one JSON route (\`GET /\` -> \`{"hello":"world"}\`), one fresh server process per run pinned to one core, ` +
      `autocannon (${s.connections} connections, pipelining 1) in its own process on the other core, ${s.warmup} s warm-up then ${s.duration} s measured, ` +
      `${s.rounds} interleaved rounds (every limiter of a platform/clients group runs once per round, in an order rotated each round; ratios are taken within a round, then the median). ` +
      'Every limiter allows every request (limit 1 000 000 000 per 60 s window) and keys on the last X-Forwarded-For address ' +
      '(restflow-throttle `numProxies: 1` with `AnonRateThrottle` as the default throttle; @nestjs/throttler with the same rule in `getTracker`). ' +
      `"1 key" sends one address; "${int(Number(s.manyKeys))} keys" gives each connection its own slice of ${int(Number(s.manyKeys))} addresses. ` +
      'Requests/s counts 2xx answers only. "Req per server CPU-s" divides them by the CPU time the server process used in the measured run: ' +
      'other work on the machine takes the server\'s core away (lower requests/s) but hardly changes the work per request, so this column is the cross-check when the machine was not quiet, ' +
      'and its inverse is what the limiter costs the server per request ("server CPU per request over no guard"). ' +
      'Redis variants talk to the bench\'s own `redis-server` (free port, no persistence, pinned to the load generator\'s core), flushed before each run. ' +
      'A ratio above 1 is possible and is no free lunch: where it shows (Express with Redis), the profiles below put the difference in Node\'s socket writes (`writev`) per request; ' +
      'waiting on Redis groups the responses in time, which makes each write on loopback cheaper.',
    '',
    httpSection(results, rows),
    '## Decision micro-benchmark (no HTTP)',
    '',
    'The throttle engine alone: `ThrottleGuard.canActivate` -> `SimpleRateThrottle` -> store, one hot key, rate `<limit>/hour`. ' +
      'A virtual clock (the throttle\'s `timer()`) advances by `3600 / (limit - 0.5)` s per decision, so the log stays exactly full: each allowed decision drops one expired timestamp and records one. ' +
      `"Denied" freezes the clock on the full log (each decision builds the 429 exception). ${s.decisionSeconds} s per measurement, ${s.rounds} interleaved rounds, median; ` +
      'memory runs synchronously in one process, Redis with 32 decisions in flight on one connection.',
    '',
    decisionsSection(results),
    '',
    '## Memory: 1 000 000 distinct clients',
    '',
    'Each client (its own X-Forwarded-For, `numProxies: 1`) makes one request through `ThrottleGuard` and the default in-memory cache, in one process started with `--expose-gc`; ' +
      'numbers after a full GC. In-process rather than over HTTP because a million HTTP requests take minutes and run the same store code.',
    '',
    memorySection(results),
    '',
    '## Profiles (`node --cpu-prof`)',
    '',
    `One extra run of each scenario below with the server under \`node --cpu-prof\`; only the samples of the measured ${Math.min(Number(s.duration), 3)} s count (start-up and warm-up left out). ` +
      'Shares are of the server\'s busy (non-idle) samples. Each limiter\'s profile is set against the no-guard profile of the same platform and clients, as server CPU per request by area (the profiler itself adds a little to every number).',
    '',
    profilesSection(results),
    '## Machine and noise',
    '',
    `${m.cpu}, ${m.cores} cores, Node ${m.node}. Pinning: ${m.pinning}. ` +
      `1-minute load average ${m.loadBefore.map((n) => n.toFixed(2)).join(' / ')} before, ${m.loadAfter.map((n) => n.toFixed(2)).join(' / ')} after (1, 5, 15 min). ` +
      'Other work on the machine during the run (other engineers\' test suites) lowers every number; interleaving spreads it over all variants, and the min-max of the ratios shows how much it moved them.',
    '',
    m.otherProcesses.length ? `Busiest other processes when the run started: ${m.otherProcesses.map((p) => `\`${p}\``).join(', ')}.` : '',
    '',
    '## Versions',
    '',
    table(['package', 'version'], Object.entries(results.versions).map(([name, version]) => [name, version])),
    '',
    '## Settings',
    '',
    table(['setting', 'value'], Object.entries(s).map(([name, value]) => [name, String(value)])),
    '',
  ].join('\n');
}
