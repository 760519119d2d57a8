import { rm } from 'node:fs/promises';
import type { DesiredUser } from '../model.js';
import { decodeInto, unescapeValue } from './row-codec.js';
import type { ReaderSummary, ScanSummary } from './types.js';
import { UserBuilder } from './user-builder.js';
import { readLineBatches, removeWorkDir } from './work-files.js';

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
          const lines: string[] = [];
          for await (const batch of readLineBatches(partition)) for (const text of batch) lines.push(text);
          await rm(partition, { force: true });
          for (const user of partitionUsers(lines)) {
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
 * The users of one partition's lines (any order), in user-ID order. The lines are bucketed by user
 * (one Map lookup per line, then a counting sort), so each user's builder lives only while it is
 * built, as in the grouped case. Empties `lines`.
 */
export function* partitionUsers(lines: string[]): Generator<DesiredUser> {
  const keys: string[] = [];
  const indexOf = new Map<string, number>();
  const owners = new Int32Array(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    const key = text.slice(0, text.indexOf('\t'));
    let owner = indexOf.get(key);
    if (owner === undefined) {
      owner = keys.length;
      keys.push(key);
      indexOf.set(key, owner);
    }
    owners[i] = owner;
  }
  indexOf.clear();
  const starts = new Int32Array(keys.length + 1);
  for (const owner of owners) starts[owner + 1]!++;
  for (let u = 0; u < keys.length; u++) starts[u + 1]! += starts[u]!;
  const fill = starts.slice(0, keys.length);
  const bucketed: string[] = new Array(lines.length);
  for (let i = 0; i < lines.length; i++) bucketed[fill[owners[i]!]!++] = lines[i]!;
  lines.length = 0;
  const names = keys.map(unescapeValue);
  const order = Array.from({ length: keys.length }, (_, u) => u);
  order.sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0));
  for (const u of order) {
    const builder = new UserBuilder(names[u]!);
    for (let i = starts[u]!; i < starts[u + 1]!; i++) decodeInto(bucketed[i]!, builder);
    bucketed.fill('', starts[u]!, starts[u + 1]!);
    yield builder.build();
  }
}
