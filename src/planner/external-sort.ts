import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareCodeUnits } from './canonical.js';
import { LineFileWriter, readLines } from './line-file.js';

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
   * Runs merged at once; more runs are first merged into bigger runs.
   * @default 32
   */
  readonly fanIn?: number;
}

type Entry = readonly [key: string, line: string];

/**
 * An external merge sort of (key, line) records by key in code-unit order, with bounded memory:
 * records are buffered, sorted and spilled to temporary files in runs, then k-way merged. Lines must
 * not contain `\n` or `\r` (JSON lines don't). `dispose()` removes the temporary files; call it in a
 * `finally`.
 */
export class ExternalSorter {
  readonly #tmpDir: string;
  readonly #maxRecords: number;
  readonly #maxChars: number;
  readonly #fanIn: number;
  #buffer: Entry[] = [];
  #bufferChars = 0;
  #runs: string[] = [];
  #dir: string | undefined;
  #runSeq = 0;
  #consumed = false;

  constructor(options: ExternalSortOptions = {}) {
    this.#tmpDir = options.tmpDir ?? tmpdir();
    this.#maxRecords = wholeNumber('maxBufferedRecords', options.maxBufferedRecords ?? 10_000, 1);
    this.#maxChars = wholeNumber('maxBufferedChars', options.maxBufferedChars ?? 32 * 1024 * 1024, 1);
    this.#fanIn = wholeNumber('fanIn', options.fanIn ?? 32, 2);
  }

  /** How many runs went to disk so far (for tests and diagnostics). */
  get spilledRuns(): number {
    return this.#runSeq;
  }

  async add(key: string, line: string): Promise<void> {
    if (this.#consumed) throw new Error('ExternalSorter: add() after sorted()');
    this.#buffer.push([key, line]);
    this.#bufferChars += key.length + line.length;
    if (this.#buffer.length >= this.#maxRecords || this.#bufferChars >= this.#maxChars) await this.#spill();
  }

  /** Yields every record in key order (equal keys in no particular order). Once only. */
  async *sorted(): AsyncGenerator<Entry> {
    if (this.#consumed) throw new Error('ExternalSorter: sorted() called twice');
    this.#consumed = true;
    const memory = this.#takeBuffer();
    while (this.#runs.length + 1 > this.#fanIn) {
      const batch = this.#runs.splice(0, this.#fanIn);
      const out = await this.#newRunPath();
      const writer = await LineFileWriter.create(out, 0o600);
      try {
        for await (const [key, line] of mergeSources(batch.map(readRun)))
          await writer.write(encode(key, line));
        await writer.close();
      } catch (err) {
        await writer.discard();
        throw err;
      }
      this.#runs.push(out);
      await Promise.all(batch.map((p) => rm(p, { force: true })));
    }
    yield* mergeSources([...this.#runs.map(readRun), fromArray(memory)]);
  }

  /** Removes the temporary files. Safe to call more than once. */
  async dispose(): Promise<void> {
    this.#buffer = [];
    const dir = this.#dir;
    this.#dir = undefined;
    this.#runs = [];
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }

  #takeBuffer(): Entry[] {
    const entries = this.#buffer.sort((a, b) => compareCodeUnits(a[0], b[0]));
    this.#buffer = [];
    this.#bufferChars = 0;
    return entries;
  }

  async #spill(): Promise<void> {
    const entries = this.#takeBuffer();
    const path = await this.#newRunPath();
    const writer = await LineFileWriter.create(path, 0o600);
    try {
      for (const [key, line] of entries) await writer.write(encode(key, line));
      await writer.close();
    } catch (err) {
      await writer.discard();
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

function wholeNumber(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(
      `Expected \`${name}\` to be a whole number from ${min} and up, got \`${value}\` (${typeof value})`,
    );
  }
  return value;
}

// A run line is the JSON-encoded key, a tab, then the line: a JSON string holds no raw tab.
function encode(key: string, line: string): string {
  return `${JSON.stringify(key)}\t${line}`;
}

async function* readRun(path: string): AsyncGenerator<Entry> {
  for await (const text of readLines(path)) {
    const tab = text.indexOf('\t');
    yield [JSON.parse(text.slice(0, tab)) as string, text.slice(tab + 1)];
  }
}

async function* fromArray(entries: readonly Entry[]): AsyncGenerator<Entry> {
  yield* entries;
}

interface Cursor {
  entry: Entry;
  readonly source: AsyncGenerator<Entry>;
}

/** k-way merge of sorted sources with a binary min-heap on the key. */
async function* mergeSources(sources: AsyncGenerator<Entry>[]): AsyncGenerator<Entry> {
  const heap: Cursor[] = [];
  const less = (a: Cursor, b: Cursor): boolean => a.entry[0] < b.entry[0];
  const up = (i: number): void => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(heap[i] as Cursor, heap[parent] as Cursor)) return;
      [heap[i], heap[parent]] = [heap[parent] as Cursor, heap[i] as Cursor];
      i = parent;
    }
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l] as Cursor, heap[m] as Cursor)) m = l;
      if (r < heap.length && less(heap[r] as Cursor, heap[m] as Cursor)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m] as Cursor, heap[i] as Cursor];
      i = m;
    }
  };
  try {
    for (const source of sources) {
      const first = await source.next();
      if (first.done !== true) {
        heap.push({ entry: first.value, source });
        up(heap.length - 1);
      }
    }
    while (heap.length > 0) {
      const top = heap[0] as Cursor;
      yield top.entry;
      const next = await top.source.next();
      if (next.done === true) {
        const last = heap.pop() as Cursor;
        if (heap.length > 0) {
          heap[0] = last;
          down(0);
        }
      } else {
        top.entry = next.value;
        down(0);
      }
    }
  } finally {
    await Promise.all(sources.map((s) => s.return(undefined)));
  }
}
