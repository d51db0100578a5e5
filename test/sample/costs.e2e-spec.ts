/**
 * Beyond DRF, sample/costs: a bulk import whose calls cost their items (`@ThrottleCost`, scope `imports`,
 * 100 an hour) and a one-time code check that blocks a refused client for an hour (`verify: '3/10m'`,
 * `blockDurations: { verify: '1h' }`), with the IETF headers the sample sends.
 */
import { PLATFORMS } from '../helpers/http-app';
import { useSample } from '../helpers/sample-app';

describe.each(PLATFORMS)('sample/costs on %s', (platform) => {
  const t = useSample(platform);
  const post = (path: string, body: unknown) =>
    fetch(t.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const items = (n: number) => ({ items: Array.from({ length: n }, (_, i) => ({ sku: `sku-${i}` })) });

  it('a bulk import costs its items: 60 + 40 fill the hour, a call that does not fit is refused whole', async () => {
    const first = await post('/imports', items(60));
    expect([first.status, await first.json()]).toEqual([201, { imported: 60 }]);
    expect(first.headers.get('ratelimit')).toBe('"imports";r=40;t=3600');
    const refused = await post('/imports', items(41));
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '3600']);
    expect((await post('/imports', items(40))).status).toBe(201);
    expect((await post('/imports', items(1))).status).toBe(429);
    t.clock.advance(3600);
    expect((await post('/imports', items(100))).status).toBe(201);
  });

  it('a malformed body costs 1 and is answered 400 by the handler', async () => {
    const bad = await post('/imports', { items: 'all of them' });
    expect([bad.status, bad.headers.get('ratelimit')]).toEqual([400, '"imports";r=99;t=3600']);
  });

  it('three wrong codes in ten minutes: refused for an hour, and Retry-After says so', async () => {
    for (let i = 0; i < 3; i++) {
      const answer = await post('/verify-code', { code: '000000' });
      expect([answer.status, await answer.json()]).toEqual([200, { valid: false }]);
      t.clock.advance(60);
    }
    const refused = await post('/verify-code', { code: '424242' });
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '3600']);
    // The window has room again after 10 minutes; the block holds for the hour.
    t.clock.advance(1200);
    expect((await post('/verify-code', { code: '424242' })).headers.get('retry-after')).toBe('2400');
    t.clock.advance(2400);
    const valid = await post('/verify-code', { code: '424242' });
    expect([valid.status, await valid.json()]).toEqual([200, { valid: true }]);
  });
});
