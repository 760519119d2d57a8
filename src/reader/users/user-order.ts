import { compareCodeUnits } from '../../model.js';
import { hash32 } from '../stage/order-tracker.js';
import { escapeValue } from '../stage/row-codec.js';

/**
 * The canonical order of users: by `hash32` of the user's escaped ID (the hash that routes rows to
 * partitions), as an unsigned 32-bit number, then by the ID in code-unit order. It is a total order
 * computed from the user ID alone, whatever the file size or the number of partitions: partitions
 * are ranges of the hash (`partitionOf` in ../stage/partitions.ts), read in index order, and each partition yields its
 * users in this order. `scan.users({ order: 'canonical' })` yields users in it, and the `--state`
 * snapshot (src/sync/state-file.ts) is sorted by it, so the two can be merge-joined.
 */

/**
 * How a stream of users is ordered: `'id'` (file order for grouped rows, else partition by partition,
 * each in user-ID order) or `'canonical'` (the total order above, whatever the rows' order).
 */
export type UserOrder = 'id' | 'canonical';

/** The user's place in the canonical order: 8 hex digits of the hash, then the ID (compare in code units). */
export function userOrderKey(user: string): string {
  return hex8(hash32(escapeValue(user))) + user;
}

/** {@link userOrderKey} of `user` when its escaped form is at hand (a line of a working file or the snapshot). */
export function userOrderKeyEscaped(escaped: string, user: string): string {
  return hex8(hash32(escaped)) + user;
}

/** -1, 0 or 1 as `a` comes before, with or after `b` in the canonical order. */
export function compareUserOrder(a: string, b: string): number {
  if (a === b) return 0;
  const ha = hash32(escapeValue(a));
  const hb = hash32(escapeValue(b));
  if (ha !== hb) return ha < hb ? -1 : 1;
  return a < b ? -1 : 1;
}

/** Users of a partition at most, for {@link canonicalOrder}'s packed sort: hash × 2^21 + index stays below 2^53. */
const PACKED_INDEX = 2 ** 21;

/**
 * The indexes of `users` (distinct IDs) in the canonical order. Their hashes are sorted as numbers,
 * each packed with its index into one float (a typed array's numeric sort: several times faster than
 * comparing order keys as strings, which cost an unchanged night of a million users a second); users
 * with the same hash, which are rare, are then put in ID order.
 */
export function canonicalOrder(users: readonly string[]): number[] {
  const n = users.length;
  const hashes = new Uint32Array(n);
  for (let u = 0; u < n; u++) hashes[u] = hash32(escapeValue(users[u]!));
  const byId = (a: number, b: number): number => compareCodeUnits(users[a]!, users[b]!);
  if (n > PACKED_INDEX) {
    return Array.from({ length: n }, (_, u) => u).sort((a, b) =>
      hashes[a] !== hashes[b] ? hashes[a]! - hashes[b]! : byId(a, b),
    );
  }
  const packed = new Float64Array(n);
  for (let u = 0; u < n; u++) packed[u] = hashes[u]! * PACKED_INDEX + u;
  packed.sort();
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) order[i] = packed[i]! % PACKED_INDEX;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && hashes[order[j]!] === hashes[order[i]!]) j++;
    if (j - i > 1) {
      const run = order.slice(i, j).sort(byId);
      for (let k = 0; k < run.length; k++) order[i + k] = run[k]!;
    }
    i = j;
  }
  return order;
}

const DIGITS = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** 8 lower-case hex digits (one string, no padding): several times faster than toString(16), per user. */
function hex8(n: number): string {
  const d = DIGITS;
  return String.fromCharCode(
    d[n >>> 28]!,
    d[(n >>> 24) & 15]!,
    d[(n >>> 20) & 15]!,
    d[(n >>> 16) & 15]!,
    d[(n >>> 12) & 15]!,
    d[(n >>> 8) & 15]!,
    d[(n >>> 4) & 15]!,
    d[n & 15]!,
  );
}
