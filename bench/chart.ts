import { LIMITER_LABELS, type Limiter } from './config';
import { httpRows, type BenchResults } from './summary';

const COLORS: Record<Limiter, string> = {
  none: '#9e9e9e',
  'noop-guard': '#bdbdbd',
  'restflow-memory': '#00897b',
  'restflow-redis': '#4db6ac',
  'nestjs-throttler-memory': '#e64a19',
  'nestjs-throttler-redis': '#ff8a65',
};

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A horizontal bar chart, one panel per platform and client-key count: each
 * limiter's requests/s as a share of the no-guard app in the same rounds,
 * with the issue's target lines. Plain SVG, so it renders on GitHub and in
 * any browser with no dependency.
 */
export function renderChart(results: BenchResults): string {
  const rows = httpRows(results.http);
  const groups = [...new Set(rows.map((r) => `${r.platform}|${r.keys}`))];
  const limiterOrder = Object.keys(COLORS) as Limiter[];
  const width = 960;
  const labelWidth = 300;
  const barArea = 470;
  const rowHeight = 24;
  const maxRatio = Math.max(1.1, ...rows.map((r) => (Number.isFinite(r.ratio) ? r.ratio : 0)));
  const scale = (ratio: number): number => (ratio / maxRatio) * barArea;
  const parts: string[] = [];
  let y = 84;

  for (const group of groups) {
    const [platform, keysText] = group.split('|');
    const keys = Number(keysText);
    const panel = rows
      .filter((r) => r.platform === platform && r.keys === keys)
      .sort((a, b) => limiterOrder.indexOf(a.limiter) - limiterOrder.indexOf(b.limiter));
    const title = `${platform === 'fastify' ? 'Fastify' : 'Express'}, ${keys === 1 ? 'one client key' : `${keys.toLocaleString('en-US')} client keys`}`;
    parts.push(`<text x="16" y="${y}" class="panel">${escape(title)}</text>`);
    y += 10;
    const top = y;
    for (const row of panel) {
      const ratio = row.limiter === 'none' ? 1 : row.ratio;
      const w = Number.isFinite(ratio) ? Math.max(1, scale(ratio)) : 0;
      const cy = y + rowHeight / 2;
      parts.push(
        `<text x="${labelWidth - 8}" y="${cy + 4}" class="label" text-anchor="end">${escape(LIMITER_LABELS[row.limiter])}</text>`,
        `<rect x="${labelWidth}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowHeight - 6}" fill="${COLORS[row.limiter]}"/>`,
        `<text x="${labelWidth + w + 6}" y="${cy + 4}" class="value">${Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a'}x  ${Math.round(row.rps).toLocaleString('en-US')} req/s</text>`,
      );
      y += rowHeight;
    }
    for (const [target, label] of [
      [0.95, '0.95x'],
      [0.6, '0.6x'],
      [1, ''],
    ] as const) {
      const tx = labelWidth + scale(target);
      parts.push(`<line x1="${tx.toFixed(1)}" y1="${top}" x2="${tx.toFixed(1)}" y2="${y}" class="${label ? 'target' : 'unit'}"/>`);
      if (label) parts.push(`<text x="${tx.toFixed(1)}" y="${y + 12}" class="tick" text-anchor="middle">${label}</text>`);
    }
    y += 34;
  }

  const height = y + 24;
  const subtitle = [
    `Requests/s as a share of the same Nest app without a guard: median of per-round ratios, ${String(results.settings.rounds)} interleaved rounds,`,
    `autocannon ${String(results.settings.connections)} connections, server and load generator pinned to separate cores. Dashed lines: the targets.`,
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    '<style>.title{font-size:18px;font-weight:bold}.sub{font-size:11px;fill:#555}.panel{font-size:14px;font-weight:bold}' +
      '.label{font-size:12px}.value{font-size:11px;fill:#333}.tick{font-size:10px;fill:#c62828}' +
      '.target{stroke:#c62828;stroke-dasharray:4 3;stroke-width:1}.unit{stroke:#616161;stroke-width:1}</style>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" class="title">restflow-throttle vs @nestjs/throttler: throughput vs no guard</text>`,
    ...subtitle.map((line, i) => `<text x="16" y="${42 + i * 14}" class="sub">${escape(line)}</text>`),
    ...parts,
    `<text x="16" y="${height - 8}" class="sub">${escape(`npm run bench, ${results.startedAt}, commit ${results.commit}. Details: bench/RESULTS.md`)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
