/** IPv6 addresses as eight 16-bit pieces and back, for client idents (see `addressIdent()`). */

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
    const [a, b, c, d] = address.slice(lastColon + 1).split('.').map(Number);
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
