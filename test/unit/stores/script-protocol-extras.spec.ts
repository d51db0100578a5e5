/**
 * The throttle script's arguments for costs, blocks and all-or-none units (throttle-script.lua.ts): a plain hit
 * keeps its plain group, a hit with a cost or a block adds two fields, a unit is announced by `a <n>` before its
 * first hit's group, and a batch is cut into scripts of 256 hits without ever cutting a unit.
 */
import { type ScriptHit, scriptChunks, scriptCommand } from '../../../lib/stores/redis/script-protocol';

const plain: ScriptHit = { key: 'k', limit: 5, duration: 60, now: undefined, algorithm: 's', extra: undefined };
const weighted = (cost: number, blockSec = 0, unit = 0): ScriptHit => ({ ...plain, extra: { cost, blockSec, unit } });
const groups = (hits: readonly ScriptHit[]) => scriptCommand(hits, 0, hits.length, '9').slice(4 + hits.length);

describe('scriptCommand with costs, blocks and units', () => {
  it('a plain hit keeps the plain group; a cost or a block adds `<cost> <blockSec>`', () => {
    expect(groups([plain, plain])).toEqual(['2 5 60 - s']);
    expect(groups([plain, weighted(3), weighted(3), weighted(3, 900), weighted(0)])).toEqual([
      '1 5 60 - s',
      '2 5 60 - s 3 0',
      '1 5 60 - s 3 900',
      '1 5 60 - s 0 0',
    ]);
  });

  it('announces a unit with `a <n>` before the group of its first hit, which starts a group of its own', () => {
    const unit = [weighted(1, 0, 3), weighted(1, 0, 0), { ...weighted(2, 0, 0), algorithm: 'g' as const }];
    expect(groups([weighted(1), ...unit, weighted(1)])).toEqual([
      '1 5 60 - s 1 0',
      'a 3',
      '2 5 60 - s 1 0',
      '1 5 60 - g 2 0',
      '1 5 60 - s 1 0',
    ]);
  });
});

describe('scriptChunks', () => {
  const many = (n: number, unitAt = -1, unit = 0): ScriptHit[] =>
    Array.from({ length: n }, (_, i) =>
      i === unitAt ? weighted(1, 0, unit) : i > unitAt && i < unitAt + unit ? weighted(1) : plain,
    );

  it('leaves a batch of up to 256 hits whole, and cuts a longer one every 256', () => {
    const batch = many(256);
    expect(scriptChunks(batch)[0]).toBe(batch);
    expect(scriptChunks(many(600)).map((c) => c.length)).toEqual([256, 256, 88]);
  });

  it('never cuts a unit: the script that holds its start holds all of it', () => {
    const chunks = scriptChunks(many(600, 254, 5));
    expect(chunks.map((c) => c.length)).toEqual([259, 256, 85]);
    expect(chunks[0][254].extra?.unit).toBe(5);
    expect(chunks[1][0]).toBe(plain);
  });
});
