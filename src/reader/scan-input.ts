import { rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyncError } from '../errors.js';
import type { Membership } from '../model.js';
import { parseCsvFile } from './csv/csv-file.js';
import { isRejection, RowValidator } from './csv/row-validator.js';
import { hash32, OrderTracker } from './stage/order-tracker.js';
import { encodedUser, encodeMembership, encodeRejected, escapeValue } from './stage/row-codec.js';
import { createWorkDir, LineWriter, readLineBatches, removeWorkDir } from './stage/work-files.js';
import type { ReaderOptions, Rejection, ScanSummary, StagedSegment } from './types.js';
import { streamUsers, type UserStream, type WorkLayout } from './users/user-stream.js';

const DEFAULT_PARTITION_BYTES = 2 * 1024 * 1024;
const DEFAULT_SEGMENT_BYTES = 2 * 1024 * 1024;
const MAX_PARTITIONS = 4096;
/** Total buffer budget of the partition writers (outside the JS heap). */
const PARTITION_BUFFER_BUDGET = 16 * 1024 * 1024;

/**
 * A scanned input: every row validated and counted, rejections reported, and the rows staged for
 * {@link InputScan.users}. Owns a working directory until `users()` finishes or `dispose()` is called.
 */
export class InputScan {
  readonly path: string;
  readonly summary: ScanSummary;
  readonly #work: WorkLayout;
  #used = false;

  /** @internal Built by {@link scanInput}. */
  constructor(path: string, summary: ScanSummary, work: WorkLayout) {
    this.path = path;
    this.summary = summary;
    this.#work = work;
  }

  /** The users, one at a time (see {@link streamUsers}). Single use; removes the working files when done. */
  users(): UserStream {
    if (this.#used)
      throw new SyncError('USAGE', `The users of ${this.path} were already read (users() is single use)`);
    this.#used = true;
    return streamUsers(this.#work, this.summary);
  }

  /**
   * Where the staged rows are, for callers that read them their own way (e.g. several threads).
   * Single use, like `users()`; the caller then removes them with `dispose()`.
   */
  takeWork(): WorkLayout {
    if (this.#used)
      throw new SyncError('USAGE', `The users of ${this.path} were already read (users() is single use)`);
    this.#used = true;
    return this.#work;
  }

  /** Removes the working files when the users will not be read (safe to call more than once). */
  async dispose(): Promise<void> {
    this.#used = true;
    await removeWorkDir(this.#work.dir);
  }
}

/** Partitions for a file of `size` bytes: about `partitionBytes` of input each, 1 to 4096. */
export function partitionCount(size: number, partitionBytes = DEFAULT_PARTITION_BYTES): number {
  return Math.min(MAX_PARTITIONS, Math.max(1, Math.ceil(size / partitionBytes)));
}

/** Partition writers `part-<i>.tsv` in `dir`, sharing `budget` bytes of buffers. */
function partitionWriters(dir: string, count: number, budget = PARTITION_BUFFER_BUDGET): LineWriter[] {
  const flushAt = Math.max(16 * 1024, Math.min(256 * 1024, Math.floor(budget / count)));
  return Array.from({ length: count }, (_, i) => new LineWriter(join(dir, `part-${i}.tsv`), flushAt));
}

/**
 * The partition of a user's lines, from the escaped user (the lines' first field): the scan routes a
 * row by its user and {@link redistribute} a staged line by its first field, so both agree.
 */
function partitionOf(escapedUser: string, count: number): number {
  return hash32(escapedUser) % count;
}

/** Routes a spill's lines to `partitions` by the hash of their user, then removes the spill. */
async function redistribute(spillPath: string, partitions: readonly LineWriter[]): Promise<void> {
  for await (const lines of readLineBatches(spillPath)) {
    for (const text of lines) {
      const pending = partitions[partitionOf(encodedUser(text), partitions.length)]!.write(`${text}\n`);
      if (pending !== undefined) await pending;
    }
  }
  await rm(spillPath, { force: true });
}

/**
 * Redistributes a spill (grouped rows) into `count` partition files `part-<i>.tsv` in `dir`, by the
 * same hash of the user as a scan that partitions; removes the spill. Returns the partitions written.
 */
export async function partitionSpill(spillPath: string, dir: string, count: number): Promise<string[]> {
  const writers = partitionWriters(dir, count);
  await redistribute(spillPath, writers);
  for (const writer of writers) await writer.flush();
  return writers.filter((w) => w.bytes > 0).map((w) => w.path);
}

/**
 * Pass 1 of 2: validates every row, reports rejections (`onRejected`, `strict`, `maxInvalid`), hashes
 * the file, and stages the valid rows for pass 2 in a working file, without holding the file in memory.
 *
 * Why two passes: whether the rows are grouped by user is only known at the end of the file, and the
 * caller may already be writing to the API while users are emitted. So nothing is emitted until the
 * whole file was read and checked; a file that fails (not UTF-8, broken quoting, too many rejections)
 * fails before the first user. The cost: the valid rows are written once more to disk (about the size
 * of the input) and read back, which is cheaper than parsing the CSV twice.
 *
 * Staging: rows go to one spill file in file order while every user's rows are contiguous
 * ({@link OrderTracker}). The first time a finished user reappears, the spill written so far is
 * redistributed into N partition files by hash of the user, and later rows go straight to their
 * partition; N = file size / `partitionBytes` (at least 1, at most 4096), so one partition is about
 * `partitionBytes` of input whatever the file size.
 */
export async function scanInput(path: string, options: ReaderOptions = {}): Promise<InputScan> {
  const maxInvalid = options.maxInvalid ?? Number.POSITIVE_INFINITY;
  if (!(maxInvalid === Number.POSITIVE_INFINITY || (Number.isInteger(maxInvalid) && maxInvalid >= 0))) {
    throw new SyncError(
      'USAGE',
      `Expected \`maxInvalid\` to be an integer from 0 and up, got \`${maxInvalid}\``,
    );
  }
  const partitionBytes = options.partitionBytes ?? DEFAULT_PARTITION_BYTES;
  if (!(Number.isInteger(partitionBytes) && partitionBytes > 0)) {
    throw new SyncError(
      'USAGE',
      `Expected \`partitionBytes\` to be an integer from 1 and up, got \`${partitionBytes}\``,
    );
  }
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new SyncError('IO', `Cannot read ${path}: not a regular file`, { path });
    size = info.size;
  } catch (error) {
    if (error instanceof SyncError) throw error;
    throw new SyncError('IO', `Cannot read ${path}: ${(error as Error).message}`, { path }, { cause: error });
  }

  const part = options.part;
  const dir = await createWorkDir(options.tmpDir ?? tmpdir());
  const spill = new LineWriter(join(dir, 'rows.tsv'));
  let partitions: LineWriter[] | undefined;
  const validator = new RowValidator(options.groupNameMaxBytes);
  if (part?.header !== undefined) validator.useHeader(part.header, part.firstLine ?? 1);
  const tracker = new OrderTracker();
  let validRows = 0;
  let rejectedRows = 0;
  let blankRows = 0;

  /** Stages the encoded line `text` of a row of `user` (the user as in the CSV, not escaped). */
  const stage = (user: string, text: string): Promise<void> | undefined => {
    if (partitions === undefined) return spill.write(text);
    // Hashing the user at hand rather than slicing it out of `text` again.
    return partitions[partitionOf(escapeValue(user), partitions.length)]!.write(text);
  };

  const startPartitioning = async (): Promise<void> => {
    options.onUngrouped?.();
    const count = part?.partitions ?? partitionCount(size, partitionBytes);
    // Parts of one file scanned at once share the budget.
    partitions = partitionWriters(dir, count, PARTITION_BUFFER_BUDGET / (part === undefined ? 1 : 2));
    await spill.flush();
    if (spill.bytes > 0) await redistribute(spill.path, partitions);
    else await rm(spill.path, { force: true });
  };

  const onSegment = options.onSegment;
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  let segmentStart = 0;
  let firstUser: string | undefined;
  let lastUser: string | undefined;
  /** Where the last user's rows begin in the spill. */
  let lastUserStart = 0;
  /** Where the first user's rows end in the spill, once a second user began. */
  let headEnd: number | undefined;
  const endSegment = async (end?: number): Promise<void> => {
    await spill.flush();
    const until = end ?? spill.bytes;
    if (until > segmentStart) {
      const segment = { path: spill.path, start: segmentStart, end: until };
      segmentStart = until;
      await onSegment?.(segment);
    }
  };

  const observe = (user: string): Promise<void> | undefined => {
    if (!tracker.grouped) return undefined;
    tracker.observe(user);
    if (!tracker.grouped) return startPartitioning();
    if (user === lastUser) return undefined;
    // A new user starts here: the staged rows so far are whole users.
    lastUserStart = spill.position;
    if (lastUser === undefined) firstUser = user;
    else if (headEnd === undefined) {
      headEnd = lastUserStart;
      if (part?.holdFirstUser === true) segmentStart = headEnd;
    }
    lastUser = user;
    if (onSegment !== undefined && spill.position - segmentStart >= segmentBytes) return endSegment();
    return undefined;
  };

  const reject = (rejection: Rejection): Promise<void> | undefined => {
    rejectedRows++;
    options.onRejected?.(rejection);
    if (options.strict === true) {
      throw new SyncError('INVALID_ROW', `Invalid row: ${rejection.message}`, {
        line: rejection.line,
        ...(rejection.user === undefined ? {} : { user: rejection.user }),
        ...(rejection.value === undefined ? {} : { value: rejection.value }),
      });
    }
    if (rejectedRows > maxInvalid) {
      throw new SyncError(
        'INVALID_INPUT',
        `More than ${maxInvalid} rows rejected (the last at line ${rejection.line}): the input looks wrong`,
        { line: rejection.line },
      );
    }
    const user = rejection.user;
    if (user === undefined) return undefined;
    const switching = observe(user);
    if (switching === undefined) return stage(user, encodeRejected(user, rejection.line));
    return switching.then(() => stage(user, encodeRejected(user, rejection.line)));
  };

  const accept = (membership: Membership): Promise<void> | undefined => {
    validRows++;
    const switching = observe(membership.user);
    if (switching === undefined) return stage(membership.user, encodeMembership(membership));
    return switching.then(() => stage(membership.user, encodeMembership(membership)));
  };

  try {
    const facts = await parseCsvFile(
      path,
      (record) => {
        const outcome = validator.accept(record);
        if (outcome === 'header') {
          part?.onHeader?.(record);
          return undefined;
        }
        if (outcome === 'blank') {
          blankRows++;
          return undefined;
        }
        return isRejection(outcome) ? reject(outcome) : accept(outcome);
      },
      options.signal,
      part === undefined
        ? undefined
        : { start: part.start, end: part.end, ...(part.digestToEnd === true ? { digestToEnd: true } : {}) },
    );
    const layout = validator.layout;
    if (layout === undefined) {
      throw new SyncError('INVALID_INPUT', `Invalid input ${path}: no header row (the file is empty)`, {
        path,
      });
    }
    let work: WorkLayout;
    let held: { head: StagedSegment; tail: StagedSegment } | undefined;
    if (partitions === undefined) {
      await spill.flush();
      const end = spill.bytes;
      const at = (start: number, until: number): StagedSegment => ({ path: spill.path, start, end: until });
      if (part?.holdFirstUser === true && headEnd === undefined) {
        // One user in the part: all of it is the head.
        held = { head: at(0, end), tail: at(end, end) };
      } else {
        const tailStart = part?.holdLastUser === true ? lastUserStart : end;
        await endSegment(tailStart);
        held = { head: at(0, part?.holdFirstUser === true ? (headEnd ?? 0) : 0), tail: at(tailStart, end) };
      }
      work = { kind: 'grouped', dir, spill: spill.bytes > 0 ? spill.path : undefined };
    } else {
      for (const partition of partitions) await partition.flush();
      work = {
        kind: 'partitioned',
        dir,
        partitions: partitions.filter((p) => p.bytes > 0).map((p) => p.path),
      };
    }
    const summary: ScanSummary = {
      rows: validRows + rejectedRows,
      validRows,
      rejectedRows,
      blankRows,
      bytes: facts.bytes,
      inputDigest: facts.digest,
      sortedByUser: partitions === undefined,
      headerForm: layout.form,
      header: validator.header,
      failuresFile: layout.failuresFile,
      partitions: partitions?.length ?? 0,
      ...(part === undefined
        ? {}
        : {
            part: {
              sorted: tracker.sorted,
              ...(firstUser === undefined ? {} : { firstUser }),
              ...(lastUser === undefined ? {} : { lastUser }),
              ...(held === undefined ? {} : held),
            },
          }),
    };
    return new InputScan(path, summary, work);
  } catch (error) {
    await removeWorkDir(dir);
    throw error;
  }
}
