import type { Conversation, ConversationType, DesiredUser, GroupState } from '../../model.js';

/**
 * Collects one user's rows (in any order, duplicates allowed) into a {@link DesiredUser}: groups
 * sorted by name, conversations sorted as `compareConversations` does and deduplicated, the lines of
 * the valid rows ascending, and the first line of each membership in `lineOf`.
 *
 * Rows are kept in flat arrays and sorted once in `build()`: cheaper than hashing every row into maps
 * for the small users that make up most inputs. Ordering by (type, id) equals ordering by the
 * conversation key `${type}:${id}` in code-unit order, so no key strings are built.
 */
export class UserBuilder {
  readonly user: string;
  readonly #groups: string[] = [];
  /** 0 for a group declaration (empty-group row), else the conversation type. */
  readonly #types: number[] = [];
  readonly #ids: string[] = [];
  readonly #lines: number[] = [];
  #rejected = false;

  constructor(user: string) {
    this.user = user;
  }

  /** Adds a valid row: a conversation of `group`, or the group's declaration when `type` is 0. */
  add(group: string, type: ConversationType | 0, id: string, line: number): void {
    this.#groups.push(group);
    this.#types.push(type);
    this.#ids.push(type === 0 ? '' : id);
    this.#lines.push(line);
  }

  /** Notes that a row of this user was rejected. */
  markRejected(): void {
    this.#rejected = true;
  }

  build(): DesiredUser {
    const g = this.#groups;
    const t = this.#types;
    const ids = this.#ids;
    const l = this.#lines;
    const n = l.length;
    const order: number[] = new Array(n);
    let presorted = true;
    for (let i = 0; i < n; i++) {
      order[i] = i;
      if (presorted && i > 0 && compareRows(g, t, ids, l, i - 1, i) > 0) presorted = false;
    }
    if (!presorted) {
      if (n <= SMALL) insertionSort(order, (a, b) => compareRows(g, t, ids, l, a, b));
      else order.sort((a, b) => compareRows(g, t, ids, l, a, b));
    }
    const groups: GroupState[] = [];
    const index: IndexedGroup[] = [];
    let current: IndexedGroup | undefined;
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      if (current === undefined || current.name !== g[i]) {
        current = { name: g[i]!, conversations: [], firstLines: [], declared: 0 };
        groups.push({ name: current.name, conversations: current.conversations });
        index.push(current);
      } else {
        const prev = order[k - 1]!;
        if (t[prev] === t[i] && ids[prev] === ids[i]) continue; // a duplicate row: the first line wins
      }
      if (t[i] === 0) current.declared = l[i]!;
      else {
        current.conversations.push({ type: t[i] as ConversationType, id: ids[i]! });
        current.firstLines.push(l[i]!);
      }
    }
    return {
      user: this.user,
      groups,
      lines: isAscending(l) ? l : l.sort((a, b) => a - b),
      hasRejectedRows: this.#rejected,
      lineOf: new LineIndex(index),
    };
  }
}

/** Up to this many rows, an insertion sort: most users have a few rows, where `Array#sort`'s set-up dominates. */
const SMALL = 24;

/** Stable in-place insertion sort (the same order as the stable `Array#sort`). */
function insertionSort(items: number[], compare: (a: number, b: number) => number): void {
  for (let i = 1; i < items.length; i++) {
    const item = items[i]!;
    let j = i - 1;
    while (j >= 0 && compare(items[j]!, item) > 0) {
      items[j + 1] = items[j]!;
      j--;
    }
    items[j + 1] = item;
  }
}

/** Orders rows by group, then conversation (type, id), then line. */
function compareRows(g: string[], t: number[], ids: string[], l: number[], a: number, b: number): number {
  const ga = g[a]!;
  const gb = g[b]!;
  if (ga !== gb) return ga < gb ? -1 : 1;
  const ta = t[a]!;
  const tb = t[b]!;
  if (ta !== tb) return ta - tb;
  const ia = ids[a]!;
  const ib = ids[b]!;
  if (ia !== ib) return ia < ib ? -1 : 1;
  return l[a]! - l[b]!;
}

function isAscending(values: readonly number[]): boolean {
  for (let i = 1; i < values.length; i++) if (values[i - 1]! > values[i]!) return false;
  return true;
}

interface IndexedGroup {
  readonly name: string;
  readonly conversations: Conversation[];
  /** First line of each conversation, aligned with `conversations`. */
  readonly firstLines: number[];
  /** Line of the group's empty-group declaration, 0 when it has none. */
  declared: number;
}

/**
 * `DesiredUser.lineOf` without building a map of strings per row: lookups binary-search the sorted
 * groups and conversations. Keys are `membershipKey(group, conversation?)`.
 */
class LineIndex implements ReadonlyMap<string, number> {
  readonly #groups: readonly IndexedGroup[];

  constructor(groups: readonly IndexedGroup[]) {
    this.#groups = groups;
  }

  get size(): number {
    let n = 0;
    for (const group of this.#groups) n += group.conversations.length + (group.declared > 0 ? 1 : 0);
    return n;
  }

  get(key: string): number | undefined {
    const cut = key.indexOf('\u0000');
    if (cut === -1) return undefined;
    const group = search(this.#groups, key.slice(0, cut), (x) => x.name);
    if (group === undefined) return undefined;
    const rest = key.slice(cut + 1);
    if (rest === '') return group.declared > 0 ? group.declared : undefined;
    const type = rest.charCodeAt(0) - 48;
    if ((type !== 1 && type !== 2) || rest.charCodeAt(1) !== 58) return undefined;
    const id = rest.slice(2);
    const at = searchIndex(group.conversations, (c) =>
      c.type !== type ? c.type - type : c.id < id ? -1 : c.id > id ? 1 : 0,
    );
    return at === -1 ? undefined : group.firstLines[at];
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  *entries(): MapIterator<[string, number]> {
    for (const group of this.#groups) {
      if (group.declared > 0) yield [`${group.name}\u0000`, group.declared];
      for (let i = 0; i < group.conversations.length; i++) {
        const c = group.conversations[i]!;
        yield [`${group.name}\u0000${c.type}:${c.id}`, group.firstLines[i]!];
      }
    }
  }

  *keys(): MapIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<number> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[string, number]> {
    return this.entries();
  }

  forEach(callback: (value: number, key: string, map: ReadonlyMap<string, number>) => void): void {
    for (const [key, value] of this.entries()) callback(value, key, this);
  }
}

function search<T>(items: readonly T[], name: string, nameOf: (item: T) => string): T | undefined {
  const at = searchIndex(items, (item) => {
    const n = nameOf(item);
    return n < name ? -1 : n > name ? 1 : 0;
  });
  return at === -1 ? undefined : items[at];
}

/** Binary search with `compare(item)` < 0 when the item sorts before the target. */
function searchIndex<T>(items: readonly T[], compare: (item: T) => number): number {
  let lo = 0;
  let hi = items.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compare(items[mid]!);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
