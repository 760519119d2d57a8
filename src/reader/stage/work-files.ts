import { appendFile, open } from 'node:fs/promises';
import { SyncError } from '../../errors.js';

/**
 * The reader's working files: written through {@link LineWriter}, read back through
 * {@link readPieces}, the one way staged rows are read. Their directory is a working directory
 * (src/work-dir.ts): removed when done, or at exit.
 */

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
    const full = this.#buffer;
    const data = full.subarray(0, this.#used);
    this.#buffer = undefined;
    this.#used = 0;
    await append(this.path, data);
    this.#bytes += data.length;
    // The same buffer again unless a write during the flush took a new one: no garbage per flush.
    this.#buffer ??= full;
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

/** Below Node's threshold for external strings (about 1 MB). */
export const PIECE_BYTES = 512 * 1024;

/** What {@link readPieces} reads and how. */
export interface PieceOptions {
  /** @default 0 */
  readonly start?: number;
  /** Must be just after an LF (checked). @default the end of the file */
  readonly end?: number;
  /**
   * Read this many bytes at a time; each piece is what they hold up to their last LF (a longer line
   * makes one longer piece). `Infinity`: the range as one piece.
   * @default {@link PIECE_BYTES}
   */
  readonly pieceBytes?: number;
  /**
   * `latin1`: byte strings, one character per byte (what the decoder of src/reader/users/decode.ts
   * reads: several times faster to make than UTF-8 text, and half its size); `utf8`: text.
   * @default 'latin1'
   */
  readonly encoding?: 'latin1' | 'utf8';
}

/**
 * Bytes `[start, end)` of a working file as pieces of whole LF-terminated lines, in order, holding
 * one read's worth of bytes at a time. Which piece size keeps the peak RSS lower depends on the use
 * (from about 1 MB, Node makes an external string, outside the heap): measured with the plan bench,
 * pieces for the segments of sorted rows, one piece per partition file of shuffled rows.
 */
export async function* readPieces(path: string, options: PieceOptions = {}): AsyncGenerator<string> {
  const encoding = options.encoding ?? 'latin1';
  const pieceBytes = options.pieceBytes ?? PIECE_BYTES;
  const start = options.start ?? 0;
  const handle = await open(path, 'r');
  try {
    const end = options.end ?? (await handle.stat()).size;
    let position = start;
    let carry: Buffer | undefined;
    // One block for every read (a piece is decoded into a string before the next read), so reading
    // leaves no buffer per piece for the collector; what is left after a piece's last LF is copied.
    const block = Buffer.allocUnsafe(Math.min(pieceBytes, end - position));
    while (position < end) {
      const length = Math.min(block.length, end - position);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(block, done, length - done, position + done);
        if (bytesRead === 0) throw new Error(`Working file ${path} is shorter than ${end} bytes`);
        done += bytesRead;
      }
      position += length;
      const read = block.subarray(0, length);
      const data = carry === undefined ? read : Buffer.concat([carry, read]);
      const cut = data.lastIndexOf(10) + 1;
      carry = cut === data.length ? undefined : Buffer.from(data.subarray(cut));
      if (cut > 0) yield data.toString(encoding, 0, cut);
    }
    if (carry !== undefined) {
      throw new Error(`Working file range ${path} [${start}, ${end}) does not end a line`);
    }
  } finally {
    await handle.close();
  }
}
