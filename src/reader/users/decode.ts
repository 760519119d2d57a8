import { compareCodeUnits, type DesiredUser } from '../../model.js';
import { findTabs, fromBytes, lineNumberAt, unescapeValue } from '../stage/row-codec.js';
import { UserBuilder } from './user-builder.js';
import { canonicalOrder, type UserOrder } from './user-order.js';

/**
 * The one decoder from staged rows to users. It reads byte strings (the working files read as
 * latin1, one character per byte, by `readPieces`): they decode several times faster than UTF-8 and
 * make strings half the size of UTF-16 text, and a field is decoded from UTF-8 only when it has a
 * byte over 127. Lines are never split into strings: fields are sliced out of the text in place.
 *
 * Two orders, one row decoder ({@link addRow}):
 * - {@link GroupedDecoder}: lines where each user's lines are contiguous (the spill of grouped input),
 *   users in file order, a user complete when the next begins: memory O(largest user);
 * - {@link partitionUsers}: the lines of one partition, any order, users in user-ID order (or in the
 *   canonical order of ./user-order.ts).
 */

/**
 * Applies the row whose second, third and fourth TABs are at `b`, `c`, `d` in the byte string
 * `text` (its kind is the character before `b`; `line` its line number) to its user's builder.
 */
function addRow(text: string, b: number, c: number, d: number, line: number, builder: UserBuilder): void {
  const kind = text.charCodeAt(b - 1);
  if (kind === 82 /* R */) {
    builder.markRejected();
    return;
  }
  const group = field(text, b + 1, c);
  if (kind === 48 /* 0 */) builder.add(group, 0, '', line);
  else builder.add(group, kind === 50 /* 2 */ ? 2 : 1, field(text, c + 1, d), line);
}

/** An escaped field `text[from, to)` of a byte string as its value. */
function field(text: string, from: number, to: number): string {
  return unescapeValue(fromBytes(text.slice(from, to)));
}

/**
 * Users of lines where each user's lines are contiguous, in order, fed as byte strings of whole
 * LF-terminated lines with {@link push} (a user may go on from one text into the next); {@link end}
 * gives the last user.
 */
export class GroupedDecoder {
  readonly #tabs = new Int32Array(4);
  #current: UserBuilder | undefined;
  #currentKey = '';

  *push(text: string): Generator<DesiredUser> {
    const tabs = this.#tabs;
    // Locals in the loop, fields between texts.
    let current = this.#current;
    let key = this.#currentKey;
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end === -1) end = text.length;
      findTabs(text, start, end, tabs);
      const a = tabs[0]!;
      // Compared in place: most lines are of the user before.
      if (current === undefined || a - start !== key.length || !text.startsWith(key, start)) {
        const done = current;
        key = text.slice(start, a);
        current = new UserBuilder(unescapeValue(fromBytes(key)));
        this.#current = current;
        this.#currentKey = key;
        if (done !== undefined) yield done.build();
      }
      const line = lineNumberAt(text, tabs[3]! + 1, end);
      addRow(text, tabs[1]!, tabs[2]!, tabs[3]!, line, current);
      start = end + 1;
    }
  }

  /** The last user, once every text was pushed. */
  end(): DesiredUser | undefined {
    const last = this.#current?.build();
    this.#current = undefined;
    this.#currentKey = '';
    return last;
  }
}

/**
 * The users of one partition's lines (any order), in user-ID order (`userOrder` 'id') or in the
 * canonical order ('canonical'). `texts` are byte strings of
 * whole LF-terminated lines (a partition file, or that partition of several parts of a file: all
 * lines of one user are in them).
 *
 * One pass over the text, in order, finds each line's fields and its user (one Map lookup per line)
 * and keeps only numbers: where the fields are, the kind, the line. A counting sort by user then lists
 * each user's rows, and a user's strings are sliced from the text only while its builder is built, so
 * they die young (a first pass that kept every row's strings doubled the garbage collector's work).
 */
export function* partitionUsers(
  texts: readonly string[],
  userOrder: UserOrder = 'id',
): Generator<DesiredUser> {
  if (texts.length > 0xffff) throw new RangeError(`partitionUsers: ${texts.length} texts, at most 65535`);
  let count = 0;
  for (const text of texts) {
    for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
    if (text.length > 0 && !text.endsWith('\n')) count++;
  }
  const keys: string[] = [];
  const indexOf = new Map<string, number>();
  const owners = new Int32Array(count);
  /** Which text each row is in (texts are not joined: that would copy them). */
  const textOf = new Uint16Array(count);
  /** Where each row's group field starts (its kind is the character two before). */
  const groupAt = new Int32Array(count);
  /** Each row's third and fourth TAB: the group ends at the first, the id at the second. */
  const idAt = new Int32Array(count);
  const idEnd = new Int32Array(count);
  const lines = new Float64Array(count);
  const tabs = new Int32Array(4);
  let i = 0;
  for (let t = 0; t < texts.length; t++) {
    const text = texts[t]!;
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end === -1) end = text.length;
      findTabs(text, start, end, tabs);
      const key = text.slice(start, tabs[0]!);
      let owner = indexOf.get(key);
      if (owner === undefined) {
        owner = keys.length;
        keys.push(key);
        indexOf.set(key, owner);
      }
      owners[i] = owner;
      textOf[i] = t;
      groupAt[i] = tabs[1]! + 1;
      idAt[i] = tabs[2]! + 1;
      idEnd[i] = tabs[3]!;
      lines[i] = lineNumberAt(text, tabs[3]! + 1, end);
      i++;
      start = end + 1;
    }
  }
  indexOf.clear();
  const starts = new Int32Array(keys.length + 1);
  for (let r = 0; r < count; r++) starts[owners[r]! + 1]!++;
  for (let u = 0; u < keys.length; u++) starts[u + 1]! += starts[u]!;
  const fill = starts.slice(0, keys.length);
  /** Row indexes by user, each user's in file order. */
  const rows = new Int32Array(count);
  for (let r = 0; r < count; r++) rows[fill[owners[r]!]!++] = r;
  const names = keys.map((key) => unescapeValue(fromBytes(key)));
  const order = userOrder === 'canonical' ? canonicalOrder(names) : idOrder(names);
  for (const u of order) {
    const builder = new UserBuilder(names[u]!);
    for (let k = starts[u]!; k < starts[u + 1]!; k++) {
      const r = rows[k]!;
      addRow(texts[textOf[r]!]!, groupAt[r]! - 1, idAt[r]! - 1, idEnd[r]!, lines[r]!, builder);
    }
    yield builder.build();
  }
}

/** The indexes of `users` (distinct IDs) in ID order (code units). */
function idOrder(users: readonly string[]): number[] {
  return Array.from({ length: users.length }, (_, u) => u).sort((a, b) =>
    compareCodeUnits(users[a]!, users[b]!),
  );
}
