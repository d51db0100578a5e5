import { readFileSync } from 'node:fs';

/** The parts of a V8 `.cpuprofile` (written by `node --cpu-prof`) this summary reads. */
interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
    children?: number[];
  }>;
  /** Microseconds on the system's monotonic clock. */
  startTime?: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  /** Which run was profiled. */
  label: string;
  /** Samples taken while the process was busy (idle excluded). */
  busySamples: number;
  /** Share of busy time per area, self time. */
  byArea: Array<{ area: string; share: number }>;
  /** Share of busy time spent inside each limiter, callees included (Map, crypto, ioredis...). */
  inclusive: Array<{ area: string; share: number }>;
  /** The hottest functions by self time. */
  top: Array<{ name: string; area: string; share: number }>;
  /** Per limiter: where its inclusive time goes, by the function on top of the stack (its own code, Map, timers, ioredis...). */
  insideLimiter: Array<{ limiter: string; top: Array<{ name: string; area: string; share: number }> }>;
}

/** Areas whose inclusive time is a limiter's cost. */
const LIMITER_AREAS = ['restflow-throttle', '@nestjs/throttler', '@nest-lab storage'];

/** Which package or runtime part a frame belongs to. */
export function areaOf(url: string, functionName: string): string {
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)' || functionName === '(root)') return 'V8/native (unattributed)';
  if (url.includes('/restflow-throttle/dist/') || url.includes('/main/lib/')) return 'restflow-throttle';
  if (url.includes('/@nestjs/throttler/')) return '@nestjs/throttler';
  if (url.includes('/@nest-lab/')) return '@nest-lab storage';
  if (/\/(ioredis|redis-parser|cache-manager-ioredis-yet|cache-manager|@ioredis)\//.test(url)) return 'ioredis / cache-manager';
  if (url.includes('/@nestjs/core/') || url.includes('/@nestjs/common/')) return '@nestjs/core+common';
  if (url.includes('/@nestjs/platform-fastify/') || /\/(fastify|find-my-way|@fastify|light-my-request|avvio|fast-json-stringify|pino)\//.test(url)) {
    return 'fastify';
  }
  if (url.includes('/@nestjs/platform-express/') || /\/(express|router|body-parser|finalhandler|send|on-finished|qs)\//.test(url)) {
    return 'express';
  }
  if (url.includes('/bench/')) return 'bench app';
  if (url.startsWith('node:')) return 'node core (http, net, streams)';
  if (url === '') return 'V8 builtins';
  return 'other node_modules';
}

/**
 * Self and inclusive time by area, and the hottest functions. With a window
 * (µs, monotonic clock) only the samples taken in it count, which leaves out
 * the server's start-up and warm-up.
 */
export function summariseProfile(file: string, label: string, window?: { fromUs: number; toUs: number }, topN = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  if (window && profile.samples && profile.timeDeltas && profile.startTime !== undefined) {
    const hits = new Map<number, number>();
    let at = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      at += profile.timeDeltas[i];
      if (at >= window.fromUs && at <= window.toUs) hits.set(profile.samples[i], (hits.get(profile.samples[i]) ?? 0) + 1);
    }
    for (const node of profile.nodes) node.hitCount = hits.get(node.id) ?? 0;
  }
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

  const area = new Map<number, string>();
  for (const node of profile.nodes) area.set(node.id, areaOf(node.callFrame.url, node.callFrame.functionName));
  const nameOf = (node: CpuProfile['nodes'][number]): string => {
    const { functionName, url, lineNumber } = node.callFrame;
    return `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
  };

  let busy = 0;
  const self = new Map<string, number>();
  const fn = new Map<string, { area: string; hits: number }>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    const where = area.get(node.id)!;
    if (where === 'idle' || hits === 0) continue;
    busy += hits;
    self.set(where, (self.get(where) ?? 0) + hits);
    const name = nameOf(node);
    const entry = fn.get(name) ?? { area: where, hits: 0 };
    entry.hits += hits;
    fn.set(name, entry);
  }

  // Inclusive time of a limiter: every sample whose stack passes through one of its frames.
  const inclusive = new Map<string, number>();
  const leaves = new Map<string, Map<string, { area: string; hits: number }>>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0 || area.get(node.id) === 'idle') continue;
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parentOf.get(id)) {
      const where = area.get(id)!;
      if (LIMITER_AREAS.includes(where)) seen.add(where);
      if (byId.get(id) === undefined) break;
    }
    for (const where of seen) {
      inclusive.set(where, (inclusive.get(where) ?? 0) + hits);
      const byLeaf = leaves.get(where) ?? new Map<string, { area: string; hits: number }>();
      leaves.set(where, byLeaf);
      const leaf = byLeaf.get(nameOf(node)) ?? { area: area.get(node.id)!, hits: 0 };
      leaf.hits += hits;
      byLeaf.set(nameOf(node), leaf);
    }
  }

  const share = (hits: number): number => (busy === 0 ? 0 : hits / busy);
  return {
    label,
    busySamples: busy,
    byArea: [...self].map(([a, hits]) => ({ area: a, share: share(hits) })).sort((a, b) => b.share - a.share),
    inclusive: [...inclusive].map(([a, hits]) => ({ area: a, share: share(hits) })).sort((a, b) => b.share - a.share),
    top: [...fn]
      .map(([name, { area: a, hits }]) => ({ name, area: a, share: share(hits) }))
      .sort((a, b) => b.share - a.share)
      .slice(0, topN),
    insideLimiter: [...leaves].map(([limiter, byLeaf]) => ({
      limiter,
      top: [...byLeaf]
        .map(([name, { area: a, hits }]) => ({ name, area: a, share: share(hits) }))
        .sort((a, b) => b.share - a.share)
        .slice(0, 8),
    })),
  };
}
