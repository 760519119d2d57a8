import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { SyncError } from '../errors.js';
import { createWorkDir, releaseWorkDir, removeWorkDir } from '../work-dir.js';
import { parseCsvFile } from './csv/csv-file.js';
import { isRejection, RowValidator } from './csv/row-validator.js';
import { DEFAULT_PARTITION_BYTES } from './stage/partitions.js';
import { type RowsData, rowsData, type StagedRows, sealRows } from './stage/staged.js';
import { RowStager } from './stage/stager.js';
import type { ReaderOptions, Rejection, ScanSummary } from './types.js';
import { eachStagedUser } from './users/each-user.js';
import type { UserOrder } from './users/user-order.js';
import { streamUsers, type UserStream } from './users/user-stream.js';

const DEFAULT_SEGMENT_BYTES = 2 * 1024 * 1024;

/**
 * A scanned input: every row validated and counted, rejections reported, and the rows staged for
 * {@link InputScan.users}. Owns a working directory until `users()` finishes or `dispose()` is called.
 */
export class InputScan {
  readonly path: string;
  readonly summary: ScanSummary;
  readonly #rows: RowsData;
  #used = false;

  /** @internal Built by {@link scanInput}. */
  constructor(path: string, summary: ScanSummary, rows: RowsData) {
    this.path = path;
    this.summary = summary;
    this.#rows = rows;
  }

  /**
   * The users, one at a time (see {@link streamUsers}), in file order when grouped, else partition by
   * partition; with `order: 'canonical'`, in the canonical order of users (./users/user-order.ts).
   * Single use; removes the working files when done.
   */
  users(options: { readonly order?: UserOrder } = {}): UserStream {
    this.#use();
    return streamUsers(this.#rows, this.summary, () => removeWorkDir(this.#rows.dir), options.order);
  }

  /**
   * Tells `visit` each distinct user of the file once (a user whose rows were all rejected included),
   * without reading their rows into users: one pass over the staged rows' first field, memory that of
   * one partition. For totals before the first write (a shard's users, users done before). Must come
   * before `users()` (which consumes the rows).
   */
  async eachUser(visit: (user: string) => void, signal?: AbortSignal): Promise<void> {
    if (this.#used) {
      throw new SyncError('USAGE', `The users of ${this.path} were already read (eachUser() comes first)`);
    }
    await eachStagedUser(this.#rows, visit, signal);
  }

  /**
   * The staged rows, for callers that read them their own way (units on several threads: see
   * src/reader/index.ts). Single use, like `users()`; `dispose()` then removes them.
   */
  takeStaged(): StagedRows {
    this.#use();
    return sealRows(this.#rows);
  }

  /** Removes the working files when the users will not be read (safe to call more than once). */
  async dispose(): Promise<void> {
    this.#used = true;
    await removeWorkDir(this.#rows.dir);
  }

  #use(): void {
    if (this.#used)
      throw new SyncError('USAGE', `The users of ${this.path} were already read (users() is single use)`);
    this.#used = true;
  }
}

/**
 * Hands staged rows over to another thread, which reads and removes them: this thread no longer
 * removes them at exit.
 */
export function releaseStaged(rows: StagedRows): void {
  releaseWorkDir(rowsData(rows).dir);
}

function checkOptions(options: ReaderOptions): { maxInvalid: number; partitionBytes: number } {
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
  const part = options.part;
  if (part !== undefined && part.start > 0 && part.header === undefined) {
    throw new SyncError('USAGE', 'Expected `part.header` for a part that starts after the header');
  }
  return { maxInvalid, partitionBytes };
}

async function fileSize(path: string): Promise<number> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new SyncError('IO', `Cannot read ${path}: not a regular file`, { path });
    return info.size;
  } catch (error) {
    if (error instanceof SyncError) throw error;
    throw new SyncError('IO', `Cannot read ${path}: ${(error as Error).message}`, { path }, { cause: error });
  }
}

/**
 * Pass 1 of 2: validates every row, reports rejections (`onRejected`, `strict`, `maxInvalid`), hashes
 * the file, and stages the valid rows for pass 2 in a working directory ({@link RowStager}), without
 * holding the file in memory.
 *
 * Why two passes: whether the rows are grouped by user is only known at the end of the file, and the
 * caller may already be writing to the API while users are emitted. So nothing is emitted until the
 * whole file was read and checked; a file that fails (not UTF-8, broken quoting, too many rejections)
 * fails before the first user. The cost: the valid rows are written once more to disk (about the size
 * of the input) and read back, which is cheaper than parsing the CSV twice.
 */
export async function scanInput(path: string, options: ReaderOptions = {}): Promise<InputScan> {
  const { maxInvalid, partitionBytes } = checkOptions(options);
  const size = await fileSize(path);
  const part = options.part;
  const onEvent = options.onEvent;
  const dir = await createWorkDir(options.tmpDir ?? tmpdir());
  const stager = new RowStager({
    dir,
    size,
    partitionBytes,
    segmentBytes: options.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
    ...(part === undefined ? {} : { part }),
    ...(onEvent === undefined ? {} : { onEvent }),
    ...(options.partitioned === true ? { partitioned: true } : {}),
  });
  const validator = new RowValidator(options.groupNameMaxBytes);
  if (part?.header !== undefined) validator.useHeader([...part.header], part.firstLine ?? 1);
  let validRows = 0;
  let rejectedRows = 0;
  let blankRows = 0;

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
    return rejection.user === undefined ? undefined : stager.reject(rejection.user, rejection.line);
  };

  try {
    const facts = await parseCsvFile(
      path,
      (record) => {
        const outcome = validator.accept(record);
        if (outcome === 'header') return onEvent?.({ type: 'header', header: record });
        if (outcome === 'blank') {
          blankRows++;
          return undefined;
        }
        if (isRejection(outcome)) return reject(outcome);
        validRows++;
        return stager.accept(outcome);
      },
      options.signal,
      part === undefined
        ? undefined
        : { start: part.start, end: part.end, ...(part.start === 0 ? { digestToEnd: true } : {}) },
    );
    const layout = validator.layout;
    if (layout === undefined) {
      throw new SyncError('INVALID_INPUT', `Invalid input ${path}: no header row (the file is empty)`, {
        path,
      });
    }
    const staged = await stager.finish();
    const summary: ScanSummary = {
      rows: validRows + rejectedRows,
      validRows,
      rejectedRows,
      blankRows,
      bytes: facts.bytes,
      inputDigest: facts.digest,
      grouped: staged.grouped,
      headerForm: layout.form,
      header: validator.header,
      failuresFile: layout.failuresFile,
      partitions: staged.partitions,
      ...(staged.users === undefined ? {} : { usersCounted: staged.users }),
      ...(staged.part === undefined ? {} : { part: staged.part }),
    };
    return new InputScan(path, summary, staged.rows);
  } catch (error) {
    await removeWorkDir(dir);
    throw error;
  }
}
