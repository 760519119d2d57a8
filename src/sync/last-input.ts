import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { SyncError } from '../errors.js';
import { LIMITS } from '../model.js';
import { VERSION } from '../version.js';

/**
 * The input of the run that saved a `--state` snapshot, recorded in its header when that run settled
 * every user of it: nothing rejected, no user failed or left unfinished, (mirror) every vanished user
 * emptied. The snapshot then holds exactly the digests of that input's users, so a later run of the
 * same bytes, with the same reader options, would find every user unchanged and none vanished: it is
 * answered from this record without reading the rows (STATE-FORMAT.md, "The last input").
 */
export interface LastInput {
  /** sha256 (hex) of the input's bytes, as the reader computes it (`inputDigest`). */
  readonly sha256: string;
  readonly bytes: number;
  /** What else decides the input's users: {@link readerFingerprint}. */
  readonly reader: string;
  /** Data rows of the input (the summary's `rows.total`). */
  readonly rows: number;
  /** The input's users (of the run's shard) and their memberships: all unchanged next time. */
  readonly users: number;
  readonly memberships: number;
  /** The input's header cells, for the failures file (opened with them, as after a scan). */
  readonly header: readonly string[];
}

/**
 * What decides a file's users besides its bytes: this cgsync's version (how rows become users and
 * digests) and the GroupName limit (which rows are rejected). Mode, shard and target are the
 * snapshot's own identity, checked before.
 */
export function readerFingerprint(options: { readonly groupNameLimit?: number }): string {
  return JSON.stringify({
    cgsync: VERSION,
    groupNameMaxBytes: options.groupNameLimit ?? LIMITS.groupNameBytesCreate,
  });
}

/** The record of a header, or undefined when it has none or a malformed one (then it is not used). */
export function parseLastInput(value: unknown): LastInput | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const count = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
  if (
    typeof v.sha256 !== 'string' ||
    !/^[0-9a-f]{64}$/.test(v.sha256) ||
    typeof v.reader !== 'string' ||
    !count(v.bytes) ||
    !count(v.rows) ||
    !count(v.users) ||
    !count(v.memberships) ||
    !Array.isArray(v.header) ||
    !v.header.every((cell) => typeof cell === 'string')
  ) {
    return undefined;
  }
  return {
    sha256: v.sha256,
    bytes: v.bytes,
    reader: v.reader,
    rows: v.rows,
    users: v.users,
    memberships: v.memberships,
    header: v.header as string[],
  };
}

/** Whether two records say the same. */
export function sameLastInput(a: LastInput | undefined, b: LastInput | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.sha256 === b.sha256 &&
    a.bytes === b.bytes &&
    a.reader === b.reader &&
    a.rows === b.rows &&
    a.users === b.users &&
    a.memberships === b.memberships &&
    a.header.length === b.header.length &&
    a.header.every((cell, i) => cell === b.header[i])
  );
}

/**
 * Whether the file at `path` is `last`'s input: same reader fingerprint, a regular file of the same
 * size (checked first: most changed inputs stop there), then the same sha256, read once as a stream.
 * Rejects with `SyncError('INTERRUPTED')` when `signal` aborts.
 */
export async function isLastInput(
  path: string,
  last: LastInput,
  reader: string,
  signal?: AbortSignal,
): Promise<boolean> {
  if (last.reader !== reader) return false;
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) return false;
    size = s.size;
  } catch {
    // The scan says what is wrong with the file, in its own words.
    return false;
  }
  if (size !== last.bytes) return false;
  const hash = createHash('sha256');
  const stream = createReadStream(path, { highWaterMark: 1 << 20, ...(signal ? { signal } : {}) });
  try {
    for await (const chunk of stream) hash.update(chunk as Buffer);
  } catch (err) {
    if (signal?.aborted === true) {
      throw new SyncError('INTERRUPTED', `Reading ${path} was interrupted`, { path }, { cause: err });
    }
    return false;
  }
  return hash.digest('hex') === last.sha256;
}
