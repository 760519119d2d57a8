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
