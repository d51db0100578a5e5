/**
 * keySlot() places a key where Redis Cluster does: each expected slot below
 * is what `CLUSTER KEYSLOT` answered on redis-server 7.0 (hash tags, an
 * empty tag, an unclosed brace, UTF-8 bytes).
 */
import { keySlot } from '../../../lib/stores/redis/cluster-slot';

it.each([
  ['123456789', 12739],
  ['foo', 12182],
  ['{user1000}.following', 3443],
  ['user1000', 3443],
  ['a{}b', 13694],
  ['{}x', 10595],
  ['x{a', 6541],
  ['ünï{cødé}', 6383],
  ['throttle_anon_127.0.0.1', 10914],
])('%s is in slot %i', (key, slot) => {
  expect(keySlot(key)).toBe(slot);
});
