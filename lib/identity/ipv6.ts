/**
 * IPv6 addresses as client idents (see `addressIdent()`): parsed once into
 * eight 16-bit pieces, and keyed from there by the IPv4 client they carry,
 * by the whole address, or by their network prefix.
 */

/** Scratch space for one address at a time (the parse and the key are synchronous). */
const PIECES = new Uint16Array(8);
const GROUPS = new Uint16Array(8);

/**
 * The eight 16-bit pieces of a valid IPv6 address (`::` expanded, a dotted
 * IPv4 tail as two pieces), into `PIECES`. Character by character: this runs
 * for every request of an IPv6 client.
 */
export function parseIPv6(address: string): Uint16Array {
  let end = address.length;
  let count = 0;
  const lastColon = address.lastIndexOf(':');
  const dotted = address.indexOf('.', lastColon) >= 0;
  if (dotted) end = lastColon + 1;
  let gap = -1;
  let value = 0;
  let inGroup = false;
  for (let i = 0; i < end; i++) {
    const c = address.charCodeAt(i);
    if (c === 58) {
      if (inGroup) GROUPS[count++] = value;
      value = 0;
      inGroup = false;
      if (i + 1 < end && address.charCodeAt(i + 1) === 58) {
        gap = count;
        i++;
      }
    } else {
      value = (value << 4) | (c <= 57 ? c - 48 : (c | 32) - 87);
      inGroup = true;
    }
  }
  if (inGroup) GROUPS[count++] = value;
  if (dotted) {
    const [a, b, c, d] = address
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    GROUPS[count++] = (a << 8) | b;
    GROUPS[count++] = (c << 8) | d;
  }
  PIECES.fill(0);
  const tail = gap < 0 ? 0 : count - gap;
  const head = count - tail;
  for (let i = 0; i < head; i++) PIECES[i] = GROUPS[i];
  for (let i = 0; i < tail; i++) PIECES[8 - tail + i] = GROUPS[head + i];
  return PIECES;
}

/** RFC 5952: lower-case hex, no leading zeros, the first longest run of two or more zero pieces as `::`. */
export function formatIPv6(pieces: Uint16Array): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; i++) {
    let end = i;
    while (end < 8 && pieces[end] === 0) end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    if (end > i) i = end - 1;
  }
  let text = '';
  let colon = false;
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += '::';
      colon = false;
      i += bestLength - 1;
      continue;
    }
    if (colon) text += ':';
    text += pieces[i].toString(16);
    colon = true;
  }
  return text;
}

/**
 * The ident of a valid IPv6 address's pieces (see `parseIPv6()`). Forms that
 * carry an IPv4 client are that IPv4 address, so they share its bucket and
 * each IPv4 client behind a translator or a tunnel has its own: mapped
 * (`::ffff:0:0/96`), IPv4-compatible (`::a.b.c.d`, outside `0.0.0.0/8`,
 * which keeps `::` and `::1`), NAT64 (`64:ff9b::/96`, and `64:ff9b:1::/48`
 * with the IPv4 address in the last 32 bits), 6to4 (`2002::/16`, bits 16-47)
 * and Teredo (`2001::/32`, the last 32 bits inverted). A link-local address
 * (`fe80::/10`) is one host on the server's own link, so it is keyed whole.
 * Any other address is grouped by `ipv6Subnet`, as a client owns its prefix.
 */
export function ipv6Ident(pieces: Uint16Array, ipv6Subnet: number | false): string {
  const p0 = pieces[0];
  const p1 = pieces[1];
  if (p0 === 0 && p1 === 0 && pieces[2] === 0 && pieces[3] === 0 && pieces[4] === 0) {
    const p5 = pieces[5];
    if (p5 === 0xffff || (p5 === 0 && pieces[6] > 0xff)) return ipv4At(pieces[6], pieces[7]);
  } else if (p0 === 0x64 && p1 === 0xff9b) {
    const nat64 = pieces[3] === 0 && pieces[4] === 0 && pieces[5] === 0 && pieces[2] === 0;
    if (nat64 || pieces[2] === 1) {
      // The local-use prefix may embed the IPv4 address at a shorter prefix (RFC 6052), which leaves
      // the last 24 bits zero: no IPv4 client ends that way, so that address is keyed whole instead.
      if (nat64 || pieces[7] !== 0 || (pieces[6] & 0xff) !== 0) return ipv4At(pieces[6], pieces[7]);
      return formatIPv6(pieces);
    }
  } else if (p0 === 0x2002) {
    return ipv4At(p1, pieces[2]);
  } else if (p0 === 0x2001 && p1 === 0) {
    return ipv4At(pieces[6] ^ 0xffff, pieces[7] ^ 0xffff);
  } else if ((p0 & 0xffc0) === 0xfe80) {
    return formatIPv6(pieces);
  }
  if (ipv6Subnet === false || ipv6Subnet >= 128) return formatIPv6(pieces);
  for (let i = 0; i < 8; i++) {
    const kept = Math.min(16, Math.max(0, ipv6Subnet - 16 * i));
    pieces[i] &= (0xffff << (16 - kept)) & 0xffff;
  }
  return `${formatIPv6(pieces)}/${ipv6Subnet}`;
}

/** Two 16-bit pieces as a dotted IPv4 address. */
function ipv4At(high: number, low: number): string {
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}
