/**
 * Property-based tests: the rate parser, client identity and the sliding log
 * against plain reference models, over inputs a hostile client could send.
 */
import fc from 'fast-check';
import {
  ImproperlyConfiguredError,
  MemoryThrottleStore,
  computeWait,
  parseRate,
  type ThrottleCache,
  type ThrottleRequest,
} from 'restflow-throttle';
import { CacheManagerStore } from '../../lib/stores/get-set/cache-manager.store';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { ClientAddressUnknownError, clientIdent } from '../../lib/identity/client-ident';

const PERIODS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

describe('parseRate, any string', () => {
  it('parses to the documented value or throws ImproperlyConfiguredError naming the rate', () => {
    const rateLike = fc.oneof(
      fc.string(),
      fc
        .tuple(
          fc.oneof(fc.nat(), fc.integer(), fc.double()),
          fc.constantFrom('', '1', '5', '0', '-2', '1.5'),
          fc.constantFrom('s', 'sec', 'm', 'min', 'h', 'hour', 'd', 'day', 'y', '', 'S', 'M x'),
        )
        .map(([n, k, p]) => `${n}/${k}${p}`),
    );
    fc.assert(
      fc.property(rateLike, (rate) => {
        let parsed: ReturnType<typeof parseRate>;
        try {
          parsed = parseRate(rate, 'scope');
        } catch (error) {
          expect(error).toBeInstanceOf(ImproperlyConfiguredError);
          expect((error as Error).message).toContain(`'${rate}'`);
          return;
        }
        const match = /^\s*(\d+)\/(\d*)([smhd])[a-z]*\s*$/i.exec(rate);
        expect(match).not.toBeNull();
        const [, n, k, p] = match!;
        expect(parsed).toEqual([Number(n), (k === '' ? 1 : Number(k)) * PERIODS[p.toLowerCase()]]);
      }),
      { numRuns: 2000 },
    );
  });
});

/**
 * What an address entry should key on, computed another way: WHATWG URL
 * parsing for the canonical IPv6 form, BigInt arithmetic for the prefix.
 * `undefined` when the entry is not an address.
 */
function referenceAddress(entry: string, subnet: number | false): string | undefined {
  const bracketed = /^\[([^\]]*)\](:\d{1,5})?$/.exec(entry);
  const withPort = /^([\d.]+):\d{1,5}$/.exec(entry);
  const host =
    bracketed !== null && isIPv6(bracketed[1])
      ? bracketed[1]
      : withPort !== null && isIPv4(withPort[1])
        ? withPort[1]
        : entry;
  if (isIPv4(host)) return host;
  if (!isIPv6(host)) return undefined;
  const canonical = new URL(`http://[${host}]`).hostname.slice(1, -1);
  const value = toBigInt(host);
  const low = value & 0xffffffffn;
  const ipv4 = (bits: bigint) => [24n, 16n, 8n, 0n].map((shift) => String((bits >> shift) & 255n)).join('.');
  // The forms that carry an IPv4 client (mapped, compatible, NAT64, 6to4, Teredo), and those keyed whole (link-local).
  const top96 = value >> 32n;
  if (top96 === 0xffffn || (top96 === 0n && low >> 24n !== 0n) || top96 === 0x64ff9b0000000000000000n) return ipv4(low);
  if (value >> 80n === 0x64ff9b0001n) return (low & 0xffffffn) === 0n ? canonical : ipv4(low);
  if (value >> 112n === 0x2002n) return ipv4((value >> 80n) & 0xffffffffn);
  if (value >> 96n === 0x20010000n) return ipv4(low ^ 0xffffffffn);
  if (value >> 118n === 0x3fan) return canonical;
  if (subnet === false || subnet === 128) return canonical;
  const network = value & (((1n << 128n) - 1n) ^ ((1n << BigInt(128 - subnet)) - 1n));
  return `${new URL(`http://[${toIPv6(network)}]`).hostname.slice(1, -1)}/${subnet}`;
}

/** An IPv6 address as a 128-bit number, through the URL parser's canonical form. */
function toBigInt(address: string): bigint {
  const canonical = new URL(`http://[${address}]`).hostname.slice(1, -1);
  const [left, right = ''] = canonical.split('::');
  const leftPieces = left === '' ? [] : left.split(':');
  const rightPieces = right === '' ? [] : right.split(':');
  const pieces = canonical.includes('::')
    ? [...leftPieces, ...Array(8 - leftPieces.length - rightPieces.length).fill('0'), ...rightPieces]
    : leftPieces;
  return pieces.reduce((acc, piece) => (acc << 16n) | BigInt(parseInt(piece, 16)), 0n);
}

function toIPv6(value: bigint): string {
  return Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
}

/** A forged entry is kept as written when short, printable and not in a hashed or binary ident's form, else hashed. */
function expectIdentOf(ident: string, entry: string, subnet: number | false): void {
  const address = referenceAddress(entry, subnet);
  if (address !== undefined) expect(ident).toBe(address);
  else if (entry.length <= 64 && /^[\x21-\x7e]+$/.test(entry) && !/^[hb]:/.test(entry)) expect(ident).toBe(entry);
  else expect(ident).toMatch(/^h:[A-Za-z0-9_-]{43}$/);
}

describe('client identity, any X-Forwarded-For', () => {
  const address = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.ipV6().map((ip) => ip.toUpperCase()),
    fc.ipV4().map((ip) => `::ffff:${ip}`),
    fc.ipV4().map((ip) => `::FFFF:${ip}`),
    fc
      .tuple(fc.constantFrom('::', '64:ff9b::', '64:FF9B:1:2::', '2002:0:0:1::', '2001::1:'), fc.ipV4())
      .map(([prefix, ip]) => prefix + ip),
    fc
      .array(fc.nat({ max: 0xffff }), { minLength: 4, maxLength: 4 })
      .map((h) => `FE80::${h.map((x) => x.toString(16)).join(':')}`),
  );
  const entry = fc.oneof(
    address,
    fc.tuple(fc.ipV4(), fc.nat({ max: 65535 })).map(([ip, port]) => `${ip}:${port}`),
    fc.tuple(fc.ipV6(), fc.nat({ max: 65535 })).map(([ip, port]) => `[${ip}]:${port}`),
    fc.ipV6().map((ip) => `[${ip}]`),
    fc.constantFrom('', ' ', '  \t', '[::1', '[foo]:80', '1.2.3.4:', '1.2.3.4:99999999'),
  );
  const xff = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.array(entry, { maxLength: 12 }).map((a) => a.join(',')),
    fc.nat({ max: 8192 }).map((n) => ','.repeat(n)),
    fc.nat({ max: 8192 }).map((n) => 'x'.repeat(n)),
    fc.string({ unit: 'binary', maxLength: 100 }),
  );
  const subnet = fc.oneof(fc.constant(64), fc.integer({ min: 1, max: 128 }), fc.constant(false as const));

  it("gives a bounded printable ident: DRF's entry, normalised, grouped by IPv6 prefix; never a throw", () => {
    fc.assert(
      fc.property(
        xff,
        fc.option(fc.nat({ max: 10 }), { nil: undefined }),
        address,
        subnet,
        (header, numProxies, remote, ipv6Subnet) => {
          const request: ThrottleRequest = {
            headers: { 'x-forwarded-for': header },
            socket: { remoteAddress: remote },
            ip: remote,
          };
          const ident = clientIdent(request, numProxies, ipv6Subnet);
          expect(ident.length).toBeGreaterThan(0);
          expect(ident.length).toBeLessThanOrEqual(64);
          expect(ident).toMatch(/^[\x21-\x7e]+$/);
          if (numProxies === undefined || numProxies === 0) {
            expect(ident).toBe(referenceAddress(remote, ipv6Subnet));
            return;
          }
          // DRF's rule, as a plain reference.
          const addrs = header.split(',');
          const chosen = addrs[addrs.length - Math.min(numProxies, addrs.length)].trim();
          if (chosen === '') expect(ident).toBe(referenceAddress(remote, ipv6Subnet));
          else expectIdentOf(ident, chosen, ipv6Subnet);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('two IPv6 addresses share a bucket exactly when they share the prefix', () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.ipV6(), fc.integer({ min: 1, max: 128 }), (a, b, ipv6Subnet) => {
        const identA = clientIdent({ headers: {}, ip: a }, undefined, ipv6Subnet);
        const identB = clientIdent({ headers: {}, ip: b }, undefined, ipv6Subnet);
        // Addresses keyed by the IPv4 client they carry, or whole (link-local), are not grouped by prefix.
        const grouped = (ident: string) => !isIPv4(ident) && (ipv6Subnet === 128 || ident.endsWith(`/${ipv6Subnet}`));
        fc.pre(grouped(identA) && grouped(identB));
        const blocks = new BlockList();
        blocks.addSubnet(a, ipv6Subnet, 'ipv6');
        expect(identA === identB).toBe(blocks.check(b, 'ipv6'));
        // And b's interface bits under a's prefix: the same client.
        const low = (1n << BigInt(128 - ipv6Subnet)) - 1n;
        const sibling = toIPv6((toBigInt(a) & ~low) | (toBigInt(b) & low));
        fc.pre(grouped(clientIdent({ headers: {}, ip: sibling }, undefined, ipv6Subnet)));
        expect(clientIdent({ headers: {}, ip: sibling }, undefined, ipv6Subnet)).toBe(identA);
      }),
      { numRuns: 2000 },
    );
  });

  it('no address at all is refused, never keyed on a shared bucket', () => {
    expect(() => clientIdent({ headers: {} }, undefined)).toThrow(ClientAddressUnknownError);
    expect(() => clientIdent({ headers: { 'x-forwarded-for': ' , ' } }, 1)).toThrow(ClientAddressUnknownError);
  });
});

/** The smallest get/set cache: a Map, values as they are written. */
function mapCache(): ThrottleCache {
  const values = new Map<string, unknown>();
  return {
    get: async <T>(key: string) => values.get(key) as T | undefined,
    set: async (key: string, value: unknown) => void values.set(key, value),
  };
}

/** DRF's SimpleRateThrottle, literally: a newest-first list, popped from the end. */
class ReferenceLog {
  private history: number[] = [];
  constructor(
    private readonly limit: number,
    private readonly duration: number,
  ) {}
  hit(now: number): { allowed: boolean; wait: number | null } {
    while (this.history.length > 0 && this.history[this.history.length - 1] <= now - this.duration) this.history.pop();
    if (this.history.length >= this.limit) {
      const remaining =
        this.history.length > 0 ? this.duration - (now - this.history[this.history.length - 1]) : this.duration;
      const available = this.limit - this.history.length + 1;
      return { allowed: false, wait: available <= 0 ? null : remaining / available };
    }
    this.history.unshift(now);
    return { allowed: true, wait: null };
  }
}

const timeline = fc.record({
  limit: fc.nat({ max: 6 }),
  duration: fc.integer({ min: 1, max: 20 }),
  steps: fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 8, noNaN: true })), {
    minLength: 1,
    maxLength: 60,
  }),
});

describe('the sliding log against the reference model', () => {
  it('MemoryThrottleStore: same decisions and same wait() on any timeline', () => {
    fc.assert(
      fc.property(timeline, ({ limit, duration, steps }) => {
        const store = new MemoryThrottleStore();
        const reference = new ReferenceLog(limit, duration);
        let now = 1000;
        for (const step of steps) {
          now += step;
          const expected = reference.hit(now);
          const actual = store.hit('k', limit, duration, now);
          expect(actual.allowed).toBe(expected.allowed);
          if (!actual.allowed) expect(computeWait({ ...actual, numRequests: limit, duration })).toBe(expected.wait);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('CacheManagerStore (get/set): same decisions and same wait() on any timeline', async () => {
    await fc.assert(
      fc.asyncProperty(timeline, async ({ limit, duration, steps }) => {
        const store = new CacheManagerStore(mapCache());
        const reference = new ReferenceLog(limit, duration);
        let now = 1000;
        for (const step of steps) {
          now += step;
          const expected = reference.hit(now);
          const actual = await store.hit('k', limit, duration, now);
          expect(actual.allowed).toBe(expected.allowed);
          if (!actual.allowed) expect(computeWait({ ...actual, numRequests: limit, duration })).toBe(expected.wait);
        }
      }),
      { numRuns: 200 },
    );
  });
});
