/**
 * Keeps the `limit` smallest items under `compare`, whatever order they are added in, so a report's
 * "first N" lists are the same for any arrival order. Memory: `limit` items.
 */
export class BoundedSortedList<T> {
  readonly #items: T[] = [];
  readonly #limit: number;
  readonly #compare: (a: T, b: T) => number;

  constructor(limit: number, compare: (a: T, b: T) => number) {
    this.#limit = limit;
    this.#compare = compare;
  }

  add(item: T): void {
    const items = this.#items;
    const last = items[items.length - 1];
    if (items.length >= this.#limit && (last === undefined || this.#compare(item, last) >= 0)) return;
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#compare(items[mid] as T, item) <= 0) lo = mid + 1;
      else hi = mid;
    }
    items.splice(lo, 0, item);
    if (items.length > this.#limit) items.pop();
  }

  toArray(): T[] {
    return [...this.#items];
  }
}
