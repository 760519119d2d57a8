import { type FileHandle, open } from 'node:fs/promises';
import { compareCodeUnits } from './canonical.js';

/**
 * The sorted runs of {@link ExternalSorter} (external-sort.ts): their encoding, and a k-way merge that
 * reads them as bytes. A run is UTF-8 text, one record per line: the JSON-encoded key, a tab, then
 * the line (a JSON string holds no raw tab, the lines hold no `\n`). The merge decodes only the
 * keys: the lines stay bytes from the run file to the plan file, so merging millions of records
 * builds no string per line.
 */

const TAB = 0x09;
const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Bytes read from a run file at a time (each cursor holds one such buffer). @default 64 KiB */
export const RUN_READ_BYTES = 64 * 1024;

/**
 * A whole run from records: sorted by key in code-unit order here, then encoded. Returns a plain
 * `Uint8Array` (it crosses threads unchanged).
 */
export function encodeRun(keys: readonly string[], lines: readonly string[]): Uint8Array {
  const run = new RunBuilder();
  for (let i = 0; i < keys.length; i++) run.add(keys[i]!, lines[i]!);
  return run.finish();
}

/** Bytes of each of a {@link RunBuilder}'s chunks (a bigger record gets a chunk of its own size). */
const CHUNK_BYTES = 1024 * 1024;

/**
 * Builds a run record by record, encoding each one into bytes at once (so no line stays a string),
 * in chunks (no copy as it grows), and sorts the records by key at the end.
 */
export class RunBuilder {
  readonly #chunks: Buffer[] = [];
  #chunk: Buffer = Buffer.alloc(0);
  #used = 0;
  #bytes = 0;
  readonly #keys: string[] = [];
  /** Per record: its chunk, and where it starts and ends in it. */
  readonly #chunkOf: number[] = [];
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];
  #inOrder = true;

  /** Records added so far. */
  get records(): number {
    return this.#keys.length;
  }

  add(key: string, line: string): void {
    const keyJson = JSON.stringify(key);
    // A UTF-16 code unit is at most 3 bytes of UTF-8; a tab and a newline.
    const room = 3 * (keyJson.length + line.length) + 2;
    if (this.#used + room > this.#chunk.length) {
      this.#chunk = Buffer.allocUnsafe(Math.max(room, CHUNK_BYTES));
      this.#chunks.push(this.#chunk);
      this.#used = 0;
    }
    const keys = this.#keys;
    if (keys.length > 0 && key < keys[keys.length - 1]!) this.#inOrder = false;
    keys.push(key);
    const chunk = this.#chunk;
    const start = this.#used;
    let at = start + chunk.write(keyJson, start, 'utf8');
    chunk[at++] = TAB;
    at += chunk.write(line, at, 'utf8');
    chunk[at++] = NEWLINE;
    this.#chunkOf.push(this.#chunks.length - 1);
    this.#starts.push(start);
    this.#ends.push(at);
    this.#used = at;
    this.#bytes += at - start;
  }

  /** The run, sorted by key, in one plain `Uint8Array` (it crosses threads unchanged). */
  finish(): Uint8Array {
    const keys = this.#keys;
    const run = new Uint8Array(this.#bytes);
    const order = Array.from(keys.keys());
    if (!this.#inOrder) order.sort((a, b) => compareCodeUnits(keys[a]!, keys[b]!));
    let at = 0;
    for (const i of order) {
      const start = this.#starts[i]!;
      const end = this.#ends[i]!;
      run.set(this.#chunks[this.#chunkOf[i]!]!.subarray(start, end), at);
      at += end - start;
    }
    return run;
  }
}

/**
 * Reads a run record by record. `key`, `line` (the record's line, without `\n`) and `record` (key,
 * tab and line) are valid until the next `next()`: the bytes are views of the cursor's buffer.
 */
export class RunCursor {
  key = '';
  line: Buffer = Buffer.alloc(0);
  record: Buffer = Buffer.alloc(0);
  #buffer: Buffer;
  #start = 0;
  #end: number;
  readonly #handle: FileHandle | undefined;
  #eof: boolean;
  readonly #where: string;

  private constructor(buffer: Buffer, end: number, handle: FileHandle | undefined, where: string) {
    this.#buffer = buffer;
    this.#end = end;
    this.#handle = handle;
    this.#eof = handle === undefined;
    this.#where = where;
  }

  /** A cursor on a run file, reading `readBytes` at a time. Close it with `close()`. */
  static async open(path: string, readBytes = RUN_READ_BYTES): Promise<RunCursor> {
    const handle = await open(path, 'r');
    return new RunCursor(Buffer.allocUnsafe(readBytes), 0, handle, path);
  }

  /** A cursor on a run held in memory. */
  static of(run: Uint8Array): RunCursor {
    const bytes = Buffer.from(run.buffer, run.byteOffset, run.byteLength);
    return new RunCursor(bytes, bytes.length, undefined, 'a run in memory');
  }

  /**
   * Moves to the next record: true when there is one, false at the end, undefined when the buffer
   * holds no whole record and {@link RunCursor.next} must read on.
   */
  nextInBuffer(): boolean | undefined {
    const buffer = this.#buffer;
    const newline = buffer.indexOf(NEWLINE, this.#start);
    if (newline === -1 || newline >= this.#end) {
      if (this.#eof && this.#start < this.#end) throw this.#broken();
      return this.#eof ? false : undefined;
    }
    const start = this.#start;
    const tab = buffer.indexOf(TAB, start);
    if (tab === -1 || tab > newline || buffer[start] !== QUOTE || buffer[tab - 1] !== QUOTE) {
      throw this.#broken();
    }
    const escaped = buffer.indexOf(BACKSLASH, start);
    this.key =
      escaped !== -1 && escaped < tab
        ? (JSON.parse(buffer.toString('utf8', start, tab)) as string)
        : buffer.toString('utf8', start + 1, tab - 1);
    this.line = buffer.subarray(tab + 1, newline);
    this.record = buffer.subarray(start, newline);
    this.#start = newline + 1;
    return true;
  }

  /** Moves to the next record, reading from the file when needed: false at the end. */
  async next(): Promise<boolean> {
    for (;;) {
      const found = this.nextInBuffer();
      if (found !== undefined) return found;
      await this.#read();
    }
  }

  async close(): Promise<void> {
    await this.#handle?.close();
  }

  /** Keeps the unread bytes, then fills the rest of the buffer (grown when one record fills it). */
  async #read(): Promise<void> {
    const handle = this.#handle as FileHandle;
    const rest = this.#end - this.#start;
    if (rest === this.#buffer.length) {
      const grown = Buffer.allocUnsafe(this.#buffer.length * 2);
      this.#buffer.copy(grown, 0, this.#start, this.#end);
      this.#buffer = grown;
    } else if (rest > 0) this.#buffer.copy(this.#buffer, 0, this.#start, this.#end);
    this.#start = 0;
    this.#end = rest;
    const { bytesRead } = await handle.read(this.#buffer, rest, this.#buffer.length - rest, null);
    this.#end += bytesRead;
    if (bytesRead === 0) this.#eof = true;
  }

  #broken(): Error {
    return new Error(`ExternalSorter: ${this.#where} holds a record that is not "key"<tab>line<newline>`);
  }
}

/**
 * k-way merge of sorted runs by key (a binary min-heap). `next()` gives the cursor on the next record
 * in key order (valid until the following `next()`), synchronously while the runs' buffers hold
 * records: a promise only when a run must be read. Always end with `close()`.
 */
export class RunMerge {
  readonly #cursors: readonly RunCursor[];
  readonly #heap: RunCursor[] = [];
  #started = false;

  constructor(cursors: readonly RunCursor[]) {
    this.#cursors = cursors;
  }

  /** The cursor on the next record, undefined after the last. */
  next(): RunCursor | undefined | Promise<RunCursor | undefined> {
    if (!this.#started) return this.#start();
    const top = this.#heap[0];
    if (top === undefined) return undefined;
    const more = top.nextInBuffer();
    return more === undefined ? top.next().then((read) => this.#advanced(read)) : this.#advanced(more);
  }

  async close(): Promise<void> {
    this.#heap.length = 0;
    await Promise.all(this.#cursors.map((c) => c.close().catch(() => undefined)));
  }

  async #start(): Promise<RunCursor | undefined> {
    this.#started = true;
    for (const cursor of this.#cursors) if (await cursor.next()) this.#heap.push(cursor);
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#down(i);
    return this.#heap[0];
  }

  /** The top cursor moved (`more`) or ran out: restores the heap. */
  #advanced(more: boolean): RunCursor | undefined {
    const heap = this.#heap;
    if (!more) {
      const last = heap.pop() as RunCursor;
      if (heap.length === 0) return undefined;
      heap[0] = last;
    }
    this.#down(0);
    return heap[0];
  }

  #down(i: number): void {
    const heap = this.#heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && heap[l]!.key < heap[m]!.key) m = l;
      if (r < heap.length && heap[r]!.key < heap[m]!.key) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
}
