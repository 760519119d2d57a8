import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { createInterface } from 'node:readline';

const FLUSH_AT = 1 << 20;

/** Writes `\n`-terminated lines to a file through a 1 MiB buffer; awaiting each write gives backpressure. */
export class LineFileWriter {
  readonly #handle: FileHandle;
  #pending: string[] = [];
  #pendingChars = 0;

  private constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  /** Creates (or truncates) `path`. */
  static async create(path: string, mode = 0o644): Promise<LineFileWriter> {
    return new LineFileWriter(await open(path, 'w', mode));
  }

  async write(line: string): Promise<void> {
    this.#pending.push(line, '\n');
    this.#pendingChars += line.length + 1;
    if (this.#pendingChars >= FLUSH_AT) await this.#flush();
  }

  async #flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const text = this.#pending.join('');
    this.#pending = [];
    this.#pendingChars = 0;
    await this.#handle.write(text, null, 'utf8');
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
    this.#pending = [];
    await this.#handle.close().catch(() => undefined);
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
