/**
 * Splits `items` into consecutive slices of at most `size` items, keeping order.
 * An empty input gives no chunks.
 */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new RangeError(
      `Expected \`size\` to be a whole number from 1 and up, got \`${size}\` (${typeof size})`,
    );
  }
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
