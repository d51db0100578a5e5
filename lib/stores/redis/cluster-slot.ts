// The Redis Cluster hash slot of a throttle key, so the Redis store can tell which master a hit waits on, and a
// batch grouped by slot (one script per slot: a script's keys must share one).

/** Hash slots of a Redis Cluster. */
export const CLUSTER_SLOTS = 16384;

/** CRC16-CCITT (XMODEM, polynomial 0x1021), the checksum Redis Cluster hashes keys with, a byte at a time. */
const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[byte] = crc & 0xffff;
  }
  return table;
})();

const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

/**
 * The slot Redis Cluster stores `key` in: CRC16 of its UTF-8 bytes modulo
 * 16384, or of its hash tag (what lies between the first `{` and the first
 * `}` after it, when that is not empty), as in the Cluster specification.
 * The clients offer no stable helper for it (ioredis hides it in a
 * dependency, node-redis in an internal module), and it is a few lines.
 */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  let from = 0;
  let to = bytes.length;
  const open = bytes.indexOf(OPEN_BRACE);
  if (open >= 0) {
    const close = bytes.indexOf(CLOSE_BRACE, open + 1);
    if (close > open + 1) {
      from = open + 1;
      to = close;
    }
  }
  let crc = 0;
  for (let i = from; i < to; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ bytes[i]) & 0xff];
  return crc % CLUSTER_SLOTS;
}

/** A Cluster batch as one group per slot, in the order each slot first appears; each slot's hits in their order. */
export function bySlot<T extends { readonly slot: number }>(batch: readonly T[]): T[][] {
  const groups = new Map<number, T[]>();
  for (const hit of batch) {
    const group = groups.get(hit.slot);
    if (group === undefined) groups.set(hit.slot, [hit]);
    else group.push(hit);
  }
  return [...groups.values()];
}
