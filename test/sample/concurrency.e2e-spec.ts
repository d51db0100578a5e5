/**
 * Docs: a non-rate throttle, `ConcurrencyThrottle` (at most 5 requests in
 * flight per user, wait 1), sample/custom. The renderer is held by a gate,
 * so "in flight" is exact instead of timed.
 */
import { jest } from '@jest/globals';
import { InFlightRequests } from '../../sample/custom/in-flight-requests.service';
import { PdfRenderer } from '../../sample/custom/pdf-renderer.service';
import { PLATFORMS } from '../helpers/http-app';
import { expectThrottled, signedIn, useSample } from '../helpers/sample-app';
import { until } from '../helpers/until';

const ALICE = 'concurrency:user:1';

/** Renders wait for `release()`. */
class Gate {
  release!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.release = resolve));
}

describe.each(PLATFORMS)('ConcurrencyThrottle on %s', (platform) => {
  const t = useSample(platform);
  let inFlight: InFlightRequests;
  let gate: Gate;
  beforeAll(() => {
    inFlight = t.app.get(InFlightRequests);
    jest.spyOn(t.app.get(PdfRenderer), 'render').mockImplementation(() => gate.opened);
  });
  beforeEach(() => {
    gate = new Gate();
  });
  afterEach(async () => {
    gate.release();
    await until('every slot is free', () => inFlight.count(ALICE) === 0);
  });

  it('allows 5 requests in flight per user; the 6th is a 429 with Retry-After 1, until one ends', async () => {
    const held = Array.from({ length: 5 }, () => t.request('/renders/pdf', signedIn('alice')));
    await until('5 renders are in flight', () => inFlight.count(ALICE) === 5);
    expectThrottled(await t.request('/renders/pdf', signedIn('alice')), 1);
    expect(inFlight.count(ALICE)).toBe(5);

    gate.release();
    expect((await Promise.all(held)).map((r) => r.status)).toEqual(Array(5).fill(200));
    await until('the slots are given back', () => inFlight.count(ALICE) === 0);
    gate = new Gate();
    const next = t.request('/renders/pdf', signedIn('alice'));
    await until('a new render is in flight', () => inFlight.count(ALICE) === 1);
    gate.release();
    expect((await next).status).toBe(200);
  });

  it('counts each user apart, and anonymous clients by address', async () => {
    const held = [
      ...Array.from({ length: 5 }, () => t.request('/renders/pdf', signedIn('alice'))),
      ...Array.from({ length: 5 }, () => t.request('/renders/pdf')),
    ];
    await until(
      '10 renders are in flight',
      () => inFlight.count(ALICE) === 5 && inFlight.count('concurrency:ip:127.0.0.1') === 5,
    );
    expectThrottled(await t.request('/renders/pdf'), 1);
    const bob = t.request('/renders/pdf', signedIn('bob'));
    await until("bob's render is in flight", () => inFlight.count('concurrency:user:2') === 1);
    gate.release();
    expect((await Promise.all([...held, bob])).map((r) => r.status)).toEqual(Array(11).fill(200));
  });

  it('gives the slot back when the handler fails', async () => {
    gate.release();
    const failed = await Promise.all(Array.from({ length: 5 }, () => t.request('/renders/broken', signedIn('alice'))));
    expect(failed.map((r) => r.status)).toEqual(Array(5).fill(500));
    await until('the slots are given back', () => inFlight.count(ALICE) === 0);

    gate = new Gate();
    const held = Array.from({ length: 5 }, () => t.request('/renders/pdf', signedIn('alice')));
    await until('5 renders are in flight again', () => inFlight.count(ALICE) === 5);
    gate.release();
    expect((await Promise.all(held)).map((r) => r.status)).toEqual(Array(5).fill(200));
  });

  it('gives the slot back when the client goes away before the response', async () => {
    const abort = new AbortController();
    const gone = fetch(`${t.url}/renders/pdf`, { ...signedIn('alice'), signal: abort.signal }).then(
      (response) => `answered ${response.status}`,
      (error: { name?: string }) => error.name,
    );
    await until('the render is in flight', () => inFlight.count(ALICE) === 1);
    abort.abort();
    expect(await gone).toBe('AbortError');
    await until('the slot is given back while the render still runs', () => inFlight.count(ALICE) === 0);
  });
});
