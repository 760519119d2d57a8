import { createReadStream, rmSync } from 'node:fs';
import { appendFile, mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SyncError } from '../../errors.js';

/**
 * Working files of the reader: a `cgsync-*` directory per scan, buffered line writers, a line reader.
 * Directories still present when the process exits (normally or through `process.exit`) are removed
 * synchronously by one `exit` listener; a process killed by a signal it does not handle cannot run it,
 * which is why the CLI turns SIGINT/SIGTERM into an orderly stop.
 */

const live = new Set<string>();
let exitHookInstalled = false;

function removeAllSync(): void {
  for (const dir of live) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Best effort at exit: nothing else can be done.
    }
  }
  live.clear();
}

/** Creates `<base>/cgsync-XXXXXX`, removed at exit if still there. */
export async function createWorkDir(base: string): Promise<string> {
  let dir: string;
  try {
    dir = await mkdtemp(join(base, 'cgsync-'));
  } catch (error) {
    throw new SyncError(
      'IO',
      `Cannot create a working directory in ${base}: ${(error as Error).message}`,
      { path: base },
      { cause: error },
    );
  }
  live.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', removeAllSync);
  }
  return dir;
}

export async function removeWorkDir(dir: string): Promise<void> {
  live.delete(dir);
  await rm(dir, { recursive: true, force: true });
}

/** Stops removing `dir` at exit: another thread of this process owns it now. */
export function releaseWorkDir(dir: string): void {
  live.delete(dir);
}

/** Directories currently registered for removal (for tests). */
export function liveWorkDirs(): readonly string[] {
  return [...live];
}

/**
 * Appends text to a file through a fixed byte buffer (allocated on the first write), so a writer holds
 * exactly `capacity` bytes outside the JS heap however much goes through it. The file is created on
 * the first flush and opened only for the time of each flush, so thousands of writers need no
 * descriptors between flushes.
 */
export class LineWriter {
  readonly path: string;
  readonly #capacity: number;
  #buffer: Buffer | undefined;
  #used = 0;
  #bytes = 0;

  constructor(path: string, capacity = 256 * 1024) {
    this.path = path;
    this.#capacity = capacity;
  }

  /** Bytes written to the file so far (0: the file does not exist). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes written or buffered: where the next write starts in the file. */
  get position(): number {
    return this.#bytes + this.#used;
  }

  /** Buffers `text`; returns a promise only when the buffer had to be written out first: await it before the next write. */
  write(text: string): Promise<void> | undefined {
    // A UTF-16 code unit takes at most 3 UTF-8 bytes.
    if (this.#used + text.length * 3 > this.#capacity) return this.#flushThenWrite(text);
    this.#buffer ??= Buffer.allocUnsafe(this.#capacity);
    this.#used += this.#buffer.write(text, this.#used);
    return undefined;
  }

  /** Writes the buffer out. */
  async flush(): Promise<void> {
    if (this.#used === 0 || this.#buffer === undefined) return;
    // Hand the filled buffer to the write and start a new one, so a write during the flush is safe.
    const data = this.#buffer.subarray(0, this.#used);
    this.#buffer = undefined;
    this.#used = 0;
    await append(this.path, data);
    this.#bytes += data.length;
  }

  async #flushThenWrite(text: string): Promise<void> {
    await this.flush();
    if (text.length * 3 <= this.#capacity) {
      this.write(text);
      return;
    }
    const data = Buffer.from(text, 'utf8');
    await append(this.path, data);
    this.#bytes += data.length;
  }
}

async function append(path: string, data: Buffer): Promise<void> {
  try {
    await appendFile(path, data, { mode: 0o600 });
  } catch (error) {
    throw new SyncError(
      'IO',
      `Cannot write the working file ${path}: ${(error as Error).message} (point tmpDir or TMPDIR to a disk with room for about the size of the input)`,
      { path },
      { cause: error },
    );
  }
}

/**
 * Bytes `[start, end)` of a file as text, which must end just after an LF (checked); '' when empty.
 * `latin1`: one character per byte (the byte strings of `partitionUsers` in user-stream.ts).
 */
export async function readTextRange(
  path: string,
  start: number,
  end: number,
  encoding: 'utf8' | 'latin1' = 'utf8',
): Promise<string> {
  const data = await readLinesBytes(path, start, end);
  return data.length === 0 ? '' : data.toString(encoding);
}

/**
 * {@link readTextRange} as several texts of whole lines, each under {@link PIECE_BYTES} (from about
 * 1 MB, Node makes an external string, outside the JS heap). Which one keeps the peak RSS lower
 * depends on the use: the segments of 1M sorted rows as one text each raised it by 20 MB, the
 * partitions of 1M shuffled rows as pieces by 15 MB.
 */
export async function readTextPieces(
  path: string,
  start: number,
  end: number,
  encoding: 'utf8' | 'latin1' = 'utf8',
): Promise<string[]> {
  const data = await readLinesBytes(path, start, end);
  const pieces: string[] = [];
  let from = 0;
  while (from < data.length) {
    let to = data.length;
    if (to - from > PIECE_BYTES) {
      const cut = data.lastIndexOf(10, from + PIECE_BYTES - 1);
      to = cut < from ? data.indexOf(10, from + PIECE_BYTES) + 1 : cut + 1;
    }
    pieces.push(data.toString(encoding, from, to));
    from = to;
  }
  return pieces;
}

/** Bytes `[start, end)` of a file, which must end just after an LF (checked). */
async function readLinesBytes(path: string, start: number, end: number): Promise<Buffer> {
  const length = Math.max(0, end - start);
  const data = Buffer.allocUnsafe(length);
  if (length === 0) return data;
  const handle = await open(path, 'r');
  try {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(data, done, length - done, start + done);
      if (bytesRead === 0) throw new Error(`Working file ${path} is shorter than ${end} bytes`);
      done += bytesRead;
    }
  } finally {
    await handle.close();
  }
  if (data[length - 1] !== 10)
    throw new Error(`Working file range ${path} [${start}, ${end}) does not end a line`);
  return data;
}

/** Below Node's threshold for external strings (about 1 MB). */
const PIECE_BYTES = 512 * 1024;

/** Yields the LF-terminated lines of a file (without the LF) in batches, in order. */
export async function* readLineBatches(path: string): AsyncGenerator<string[]> {
  let rest = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 256 * 1024 })) {
    const text = rest + (chunk as string);
    const lines = text.split('\n');
    rest = lines.pop()!;
    yield lines;
  }
  if (rest !== '') throw new Error(`Working file ${path} ends without a line feed`);
}
