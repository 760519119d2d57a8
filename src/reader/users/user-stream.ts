import { readFile, rm } from 'node:fs/promises';
import type { DesiredUser } from '../../model.js';
import { addRow, decodeInto, findTabs, fromBytes, lineNumberAt, unescapeValue } from '../stage/row-codec.js';
import { readLineBatches, removeWorkDir } from '../stage/work-files.js';
import type { ReaderSummary, ScanSummary } from '../types.js';
import { UserBuilder } from './user-builder.js';

/** Where the first pass left the rows. */
export type WorkLayout =
  | { readonly kind: 'grouped'; readonly dir: string; readonly spill: string | undefined }
  | { readonly kind: 'partitioned'; readonly dir: string; readonly partitions: readonly string[] };

/** The users of a scanned file, one at a time. Single use. */
export interface UserStream extends AsyncIterableIterator<DesiredUser> {
  /** Set once every user has been read. */
  readonly summary: ReaderSummary | undefined;
}

/**
 * The second pass. Grouped input: the spill file (validated rows in file order) is read once and a
 * user is emitted as soon as the next user starts, so memory is O(largest user). Partitioned input:
 * one partition is loaded at a time, its users built and emitted in user-ID order, then the partition
 * is deleted. The working directory is removed when the iteration ends, however it ends.
 */
export function streamUsers(work: WorkLayout, scan: ScanSummary): UserStream {
  let summary: ReaderSummary | undefined;
  async function* generate(): AsyncGenerator<DesiredUser> {
    let users = 0;
    try {
      if (work.kind === 'grouped') {
        if (work.spill !== undefined) {
          const grouped = new GroupedUsers();
          for await (const lines of readLineBatches(work.spill)) {
            for (const user of grouped.push(lines)) {
              users++;
              yield user;
            }
          }
          const last = grouped.end();
          if (last !== undefined) {
            users++;
            yield last;
          }
        }
      } else {
        for (const partition of work.partitions) {
          const text = await readFile(partition, 'latin1');
          if (!text.endsWith('\n')) throw new Error(`Working file ${partition} ends without a line feed`);
          await rm(partition, { force: true });
          for (const user of partitionUsers([text])) {
            users++;
            yield user;
          }
        }
      }
      summary = { ...scan, users };
    } finally {
      await removeWorkDir(work.dir);
    }
  }
  const iterator = generate();
  Object.defineProperty(iterator, 'summary', { get: () => summary, enumerable: true });
  return iterator as AsyncGenerator<DesiredUser> & { readonly summary: ReaderSummary | undefined };
}

/**
 * Users of working-file lines in file order where each user's lines are contiguous (the spill of
 * grouped input): a user is complete when the next one starts, so memory is O(largest user).
 * Feed batches with `push`, then call `end` for the last user.
 */
export class GroupedUsers {
  #current: UserBuilder | undefined;
  #currentKey = '';

  *push(lines: readonly string[]): Generator<DesiredUser> {
    for (const text of lines) {
      const key = text.slice(0, text.indexOf('\t'));
      if (this.#current === undefined || key !== this.#currentKey) {
        if (this.#current !== undefined) yield this.#current.build();
        this.#current = new UserBuilder(unescapeValue(key));
        this.#currentKey = key;
      }
      decodeInto(text, this.#current);
    }
  }

  end(): DesiredUser | undefined {
    const last = this.#current?.build();
    this.#current = undefined;
    return last;
  }
}

/**
 * The users of one partition's lines (any order), in user-ID order. `texts` are whole LF-terminated
 * lines (a partition file's text, or several such texts: all lines of one user are in them) as byte
 * strings (one character per byte: the file read as latin1). Bytes decode several times faster
 * that way than as UTF-8, and make a string half the size of UTF-16 text (most of the time here goes
 * to reading rows in random order); a field is decoded from UTF-8 only when it has a byte over 127.
 *
 * One pass over the text, in order, finds each line's fields and its user (one Map lookup per line)
 * and keeps only numbers: where the fields are, the kind, the line. A counting sort by user then lists
 * each user's rows, and a user's strings are sliced from the text only while its builder is built, so
 * they die young (a first pass that kept every row's strings doubled the garbage collector's work).
 */
export function* partitionUsers(texts: readonly string[]): Generator<DesiredUser> {
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
  const order = Array.from({ length: keys.length }, (_, u) => u);
  order.sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0));
  for (const u of order) {
    const builder = new UserBuilder(names[u]!);
    for (let k = starts[u]!; k < starts[u + 1]!; k++) {
      const r = rows[k]!;
      addRow(texts[textOf[r]!]!, groupAt[r]! - 1, idAt[r]! - 1, idEnd[r]!, lines[r]!, true, builder);
    }
    yield builder.build();
  }
}

/**
 * The users of working-file lines where each user's lines are contiguous (stretches of the spill of
 * grouped input), in order; a user may go on from one text into the next. `texts` are byte strings
 * of whole LF-terminated lines, as for {@link partitionUsers}. One pass, no string per line.
 */
export function* groupedUsers(texts: readonly string[]): Generator<DesiredUser> {
  const tabs = new Int32Array(4);
  let current: UserBuilder | undefined;
  let currentKey = '';
  for (const text of texts) {
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end === -1) end = text.length;
      findTabs(text, start, end, tabs);
      const a = tabs[0]!;
      // Compared in place: most lines are of the user before.
      if (current === undefined || a - start !== currentKey.length || !text.startsWith(currentKey, start)) {
        if (current !== undefined) yield current.build();
        currentKey = text.slice(start, a);
        current = new UserBuilder(unescapeValue(fromBytes(currentKey)));
      }
      const line = lineNumberAt(text, tabs[3]! + 1, end);
      addRow(text, tabs[1]!, tabs[2]!, tabs[3]!, line, true, current);
      start = end + 1;
    }
  }
  if (current !== undefined) yield current.build();
}
