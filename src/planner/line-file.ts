import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { createInterface } from 'node:readline';

const BUFFER_BYTES = 1 << 20;
const NEWLINE = 0x0a;

/**
 * Writes `\n`-terminated lines to a file through a 1 MiB buffer. A write returns a promise when the
 * buffer went to the file: awaiting it gives backpressure (and must happen before the next write).
 * With a `hash`, every byte written is hashed until {@link LineFileWriter.digest}.
 */
export class LineFileWriter {
  readonly #handle: FileHandle;
  #buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  /** The buffer last written out, once its write finished: the next one to fill. */
  #spare: Buffer<ArrayBuffer> | undefined;
  #used = 0;
  #hash: Hash | undefined;
  /** Bytes at the start of the buffer already hashed. */
  #hashed = 0;

  private constructor(handle: FileHandle, hash: Hash | undefined) {
    this.#handle = handle;
    this.#hash = hash;
  }

  /**
   * Creates (or truncates) `path`. With `existing`, `path` is an empty file made already (atomic-file's
   * `createTemp`): it is opened without being created, so an open that finds it removed fails instead
   * of bringing it back.
   */
  static async create(
    path: string,
    mode = 0o644,
    options: { hash?: Hash; existing?: boolean } = {},
  ): Promise<LineFileWriter> {
    const handle = options.existing === true ? await open(path, 'r+') : await open(path, 'w', mode);
    return new LineFileWriter(handle, options.hash);
  }

  async write(line: string): Promise<void> {
    const bytes = Buffer.byteLength(line, 'utf8');
    if (this.#used + bytes + 1 > this.#buffer.length) {
      await this.#flush();
      if (bytes + 1 > this.#buffer.length) {
        await this.#direct(Buffer.from(`${line}\n`, 'utf8'));
        return;
      }
    }
    this.#used += this.#buffer.write(line, this.#used, 'utf8');
    this.#buffer[this.#used++] = NEWLINE;
  }

  /** Writes `bytes` (a line without its `\n`); a promise when the buffer went to the file. */
  writeBytes(bytes: Uint8Array): Promise<void> | undefined {
    if (this.#used + bytes.length + 1 > this.#buffer.length) return this.#writeBytesAfterFlush(bytes);
    this.#buffer.set(bytes, this.#used);
    this.#used += bytes.length;
    this.#buffer[this.#used++] = NEWLINE;
    return undefined;
  }

  /** Lower-case hex sha256 of every byte written so far; later bytes are not hashed. Once only. */
  digest(): string {
    const hash = this.#hash;
    if (hash === undefined) throw new Error('LineFileWriter: no hash, or digest() called twice');
    hash.update(this.#buffer.subarray(this.#hashed, this.#used));
    this.#hashed = this.#used;
    this.#hash = undefined;
    return hash.digest('hex');
  }

  async #writeBytesAfterFlush(bytes: Uint8Array): Promise<void> {
    await this.#flush();
    if (bytes.length + 1 <= this.#buffer.length) {
      this.writeBytes(bytes);
      return;
    }
    const line = Buffer.allocUnsafe(bytes.length + 1);
    line.set(bytes, 0);
    line[bytes.length] = NEWLINE;
    await this.#direct(line);
  }

  /** Writes a line too big for the buffer (the buffer is empty). */
  async #direct(line: Buffer): Promise<void> {
    this.#hash?.update(line);
    await writeAll(this.#handle, line);
  }

  async #flush(): Promise<void> {
    if (this.#used === 0) return;
    const filled = this.#buffer;
    const full = filled.subarray(0, this.#used);
    this.#hash?.update(full.subarray(this.#hashed));
    // Two buffers in turn: one is written while the other fills, and none is left for the collector.
    this.#buffer = this.#spare ?? Buffer.allocUnsafe(BUFFER_BYTES);
    this.#spare = undefined;
    this.#used = 0;
    this.#hashed = 0;
    await writeAll(this.#handle, full);
    this.#spare = filled;
  }

  /** Flushes, optionally fsyncs, and closes. The handle is closed even when the flush fails. */
  async close(options: { sync?: boolean } = {}): Promise<void> {
    try {
      await this.#flush();
      if (options.sync === true) await this.#handle.sync();
    } finally {
      await this.#handle.close();
    }
  }

  /** Closes without flushing (after a failure). */
  async discard(): Promise<void> {
    this.#used = 0;
    await this.#handle.close().catch(() => undefined);
  }
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    done += (await handle.write(bytes, done, bytes.length - done, null)).bytesWritten;
  }
}

/** The lines of a file, streamed; breaking out of the loop closes the file. */
export async function* readLines(path: string): AsyncGenerator<string> {
  const input = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 16 });
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    yield* lines;
  } finally {
    lines.close();
    input.destroy();
  }
}
