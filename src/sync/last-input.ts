import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../atomic-file.js';
import { SyncError } from '../errors.js';
import { LIMITS } from '../model.js';
import { VERSION } from '../version.js';
import { inputFacts, type LineSet } from './input-facts.js';

/**
 * `<state>.input`: the last input a `--state` run settled in full (nothing rejected, no user failed or
 * left unfinished, in mirror mode no user of the snapshot missing from it), written after the
 * snapshot was saved and naming that snapshot's generation (its header's random name). The snapshot
 * then holds exactly the digests of that input's users, so a later run of the same bytes and reader
 * options would find every user unchanged and none vanished: it is answered from this record without
 * reading a row (STATE-FORMAT.md, "The last input"); so is a file of one row a line that has the
 * same header line and the same other lines in another order (input-facts.ts). Any rewrite of the
 * snapshot (a run that changed a line, the repair after a death, a copy of another file) gives it
 * another generation, and the record then holds for nothing: it is never trusted for lines it did
 * not see.
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
  /** Its lines as a multiset, when each line is one row (input-facts.ts). */
  readonly lines?: LineSet;
}

/** How a file matched the last input: byte for byte, or the same lines in another order. */
export interface InputMatch {
  readonly kind: 'same' | 'reordered';
  /** The file's own sha256 (the checkpoint's input digest). */
  readonly sha256: string;
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

/** Where the record of `state`'s last input is kept. */
export function lastInputPathFor(state: string): string {
  return `${state}.input`;
}

const FORMAT = 'cgsync-state-input';

/**
 * The record beside `state` if it names `generation` (the snapshot's, as read); undefined when there is
 * none, it names another file, or it does not parse (it only ever saves time: nothing is refused).
 */
export async function readLastInput(
  state: string,
  generation: string | undefined,
): Promise<LastInput | undefined> {
  if (generation === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(await readFile(lastInputPathFor(state), 'utf8'));
  } catch {
    return undefined;
  }
  const v = value as Record<string, unknown> | null;
  if (v?.format !== FORMAT || v.version !== 1 || v.generation !== generation) return undefined;
  return parseLastInput(v.input);
}

/** Records `input` beside `state`, for the snapshot of `generation` (atomic, mode 0600). */
export async function recordLastInput(state: string, generation: string, input: LastInput): Promise<void> {
  const path = lastInputPathFor(state);
  try {
    await writeFileAtomic(path, `${JSON.stringify({ format: FORMAT, version: 1, generation, input })}\n`);
  } catch (err) {
    throw new SyncError(
      'IO',
      `state file ${state}: cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { path },
      { cause: err },
    );
  }
}

/** A record as read, or undefined when it is malformed. */
function parseLastInput(value: unknown): LastInput | undefined {
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
  const lines = parseLineSet(v.lines);
  return {
    sha256: v.sha256,
    bytes: v.bytes,
    reader: v.reader,
    rows: v.rows,
    users: v.users,
    memberships: v.memberships,
    header: v.header as string[],
    ...(lines === undefined ? {} : { lines }),
  };
}

function parseLineSet(value: unknown): LineSet | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { first, count, sum } = value as Record<string, unknown>;
  if (typeof first !== 'string' || !/^[0-9a-f]{64}$/.test(first)) return undefined;
  if (!Number.isSafeInteger(count) || (count as number) < 0) return undefined;
  if (typeof sum !== 'string' || !/^[0-9a-f]{32}$/.test(sum)) return undefined;
  return { first, count: count as number, sum };
}

/**
 * Whether the file at `path` is `last`'s input: same reader fingerprint, a regular file of the same
 * size (checked first: most changed inputs stop there), then, read once, the same sha256, or (both
 * files of one row a line) the same header line and the same other lines in another order.
 * Rejects with `SyncError('INTERRUPTED')` when `signal` aborts; a file that cannot be read is no
 * match (the scan then says what is wrong with it, in its own words).
 */
export async function matchLastInput(
  path: string,
  last: LastInput,
  reader: string,
  signal?: AbortSignal,
): Promise<InputMatch | undefined> {
  if (last.reader !== reader) return undefined;
  try {
    const s = await stat(path);
    if (!s.isFile() || s.size !== last.bytes) return undefined;
  } catch {
    return undefined;
  }
  let facts: Awaited<ReturnType<typeof inputFacts>>;
  try {
    facts = await inputFacts(path, signal);
  } catch (err) {
    if (err instanceof SyncError) throw err;
    return undefined;
  }
  if (facts.bytes !== last.bytes) return undefined;
  if (facts.sha256 === last.sha256) return { kind: 'same', sha256: facts.sha256 };
  const [now, then] = [facts.lines, last.lines];
  if (now === undefined || then === undefined) return undefined;
  const reordered = now.first === then.first && now.count === then.count && now.sum === then.sum;
  return reordered ? { kind: 'reordered', sha256: facts.sha256 } : undefined;
}
