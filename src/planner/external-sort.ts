import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineFileWriter } from './line-file.js';
import { encodeRun, RunCursor, RunMerge } from './sort-runs.js';

export interface ExternalSortOptions {
  /**
   * Directory in which a `cgsync-sort-*` folder holds the sorted runs.
   * @default os.tmpdir()
   */
  readonly tmpDir?: string;
  /**
   * Records held in memory before a sorted run is written to disk.
   * @default 10000
   */
  readonly maxBufferedRecords?: number;
  /**
   * Characters (UTF-16 code units of the lines) held in memory before a sorted run is written.
   * @default 33554432 (32 Mi)
   */
  readonly maxBufferedChars?: number;
  /**
   * Runs merged at once (each holds a 64 KiB read buffer); more runs are first merged into bigger runs.
   * @default 256
   */
  readonly fanIn?: number;
}

/** Runs added from this size up are written as they come; smaller ones are gathered in memory first. */
const SMALL_RUN_BYTES = 1024 * 1024;
/** Bytes of small runs gathered before they are merged into one run on disk. */
const SMALL_RUNS_BYTES = 8 * 1024 * 1024;

type Entry = readonly [key: string, line: string];

/**
 * An external merge sort of (key, line) records by key in code-unit order, with bounded memory:
 * records are buffered, sorted and spilled to temporary files in runs (or come as runs sorted
 * elsewhere, {@link ExternalSorter.addRun}), then k-way merged. Lines must not contain `\n` or `\r`
 * (JSON lines don't). `dispose()` removes the temporary files; call it in a `finally`.
 */
export class ExternalSorter {
  readonly #tmpDir: string;
  readonly #maxRecords: number;
  readonly #maxChars: number;
  readonly #fanIn: number;
  #keys: string[] = [];
  #lines: string[] = [];
  #bufferChars = 0;
  #runs: string[] = [];
  /** Small runs added ({@link ExternalSorter.addRun}) and not written yet, and their bytes. */
  #small: Uint8Array[] = [];
  #smallBytes = 0;
  #dir: string | undefined;
  #runSeq = 0;
  #consumed = false;

  constructor(options: ExternalSortOptions = {}) {
    this.#tmpDir = options.tmpDir ?? tmpdir();
    this.#maxRecords = wholeNumber('maxBufferedRecords', options.maxBufferedRecords ?? 10_000, 1);
    this.#maxChars = wholeNumber('maxBufferedChars', options.maxBufferedChars ?? 32 * 1024 * 1024, 1);
    this.#fanIn = wholeNumber('fanIn', options.fanIn ?? 256, 2);
  }

  /** How many runs went to disk so far (for tests and diagnostics). */
  get spilledRuns(): number {
    return this.#runSeq;
  }

  /** Records held in memory now (for tests and diagnostics). */
  get bufferedRecords(): number {
    return this.#keys.length;
  }

  async add(key: string, line: string): Promise<void> {
    if (this.#consumed) throw new Error('ExternalSorter: add() after sorted()');
    this.#keys.push(key);
    this.#lines.push(line);
    this.#bufferChars += key.length + line.length;
    if (this.#keys.length >= this.#maxRecords || this.#bufferChars >= this.#maxChars) {
      await this.#writeRun(this.#takeBuffer());
    }
  }

  /**
   * Adds records sorted and encoded elsewhere (e.g. on another thread) with `RunBuilder` or `encodeRun` (sort-runs.ts):
   * written to disk as one run, as it is.
   */
  async addRun(run: Uint8Array): Promise<void> {
    if (this.#consumed) throw new Error('ExternalSorter: addRun() after sorted()');
    if (run.byteLength === 0) return;
    if (run.byteLength >= SMALL_RUN_BYTES) {
      await this.#writeRun(run);
      return;
    }
    // Many small runs (small units of work) would be many files: they wait in memory, merged into one.
    this.#small.push(run);
    this.#smallBytes += run.byteLength;
    if (this.#smallBytes >= SMALL_RUNS_BYTES || this.#small.length >= this.#fanIn) await this.#writeSmall();
  }

  /** Yields every record in key order (equal keys in no particular order). Once only. */
  async *sorted(): AsyncGenerator<Entry> {
    const merge = await this.merged();
    try {
      for (;;) {
        let cursor = merge.next();
        if (cursor instanceof Promise) cursor = await cursor;
        if (cursor === undefined) return;
        yield [cursor.key, cursor.line.toString('utf8')];
      }
    } finally {
      await merge.close();
    }
  }

  /**
   * Every record in key order (equal keys in no particular order), as bytes: see {@link RunMerge}.
   * Once only (instead of `sorted()`); close the merge.
   */
  async merged(): Promise<RunMerge> {
    if (this.#consumed) throw new Error('ExternalSorter: sorted() called twice');
    this.#consumed = true;
    const memory = this.#takeBuffer();
    if (memory.byteLength > 0) this.#small.push(memory);
    if (this.#runs.length + this.#small.length > this.#fanIn && this.#small.length > 1)
      await this.#writeSmall();
    const inMemory = this.#small.length;
    while (this.#runs.length + inMemory > this.#fanIn) {
      const batch = this.#runs.splice(0, this.#fanIn);
      const out = await this.#mergeToRun(await openRuns(batch));
      this.#runs.push(out);
      await Promise.all(batch.map((p) => rm(p, { force: true })));
    }
    const cursors = await openRuns(this.#runs);
    for (const run of this.#small.splice(0)) cursors.push(RunCursor.of(run));
    return new RunMerge(cursors);
  }

  /** Removes the temporary files. Safe to call more than once. */
  async dispose(): Promise<void> {
    this.#keys = [];
    this.#lines = [];
    this.#small = [];
    this.#smallBytes = 0;
    const dir = this.#dir;
    this.#dir = undefined;
    this.#runs = [];
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }

  #takeBuffer(): Uint8Array {
    const run = encodeRun(this.#keys, this.#lines);
    this.#keys = [];
    this.#lines = [];
    this.#bufferChars = 0;
    return run;
  }

  /** Merges the small runs held in memory into one run on disk. */
  async #writeSmall(): Promise<void> {
    const small = this.#small.splice(0);
    this.#smallBytes = 0;
    this.#runs.push(await this.#mergeToRun(small.map((run) => RunCursor.of(run))));
  }

  /** Merges the runs of `cursors` into a new run on disk; returns its path. */
  async #mergeToRun(cursors: readonly RunCursor[]): Promise<string> {
    const path = await this.#newRunPath();
    const merge = new RunMerge(cursors);
    let writer: LineFileWriter | undefined;
    try {
      writer = await LineFileWriter.create(path, 0o600);
      for (;;) {
        let cursor = merge.next();
        if (cursor instanceof Promise) cursor = await cursor;
        if (cursor === undefined) break;
        const full = writer.writeBytes(cursor.record);
        if (full !== undefined) await full;
      }
      await writer.close();
      return path;
    } catch (err) {
      await writer?.discard();
      await rm(path, { force: true });
      throw err;
    } finally {
      await merge.close();
    }
  }

  async #writeRun(run: Uint8Array): Promise<void> {
    const path = await this.#newRunPath();
    try {
      await writeFile(path, run, { mode: 0o600 });
    } catch (err) {
      await rm(path, { force: true });
      throw err;
    }
    this.#runs.push(path);
  }

  async #newRunPath(): Promise<string> {
    if (this.#dir === undefined) this.#dir = await mkdtemp(join(this.#tmpDir, 'cgsync-sort-'));
    this.#runSeq += 1;
    return join(this.#dir, `run-${this.#runSeq}.txt`);
  }
}

async function openRuns(paths: readonly string[]): Promise<RunCursor[]> {
  const cursors: RunCursor[] = [];
  try {
    for (const path of paths) cursors.push(await RunCursor.open(path));
  } catch (err) {
    await Promise.all(cursors.map((c) => c.close()));
    throw err;
  }
  return cursors;
}

function wholeNumber(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(
      `Expected \`${name}\` to be a whole number from ${min} and up, got \`${value}\` (${typeof value})`,
    );
  }
  return value;
}
