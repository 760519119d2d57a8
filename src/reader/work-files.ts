import { createReadStream, rmSync } from 'node:fs';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';

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
  const dir = await mkdtemp(join(base, 'cgsync-'));
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

/** Directories currently registered for removal (for tests). */
export function liveWorkDirs(): readonly string[] {
  return [...live];
}

/** Appends text to a file through a string buffer; the file is created on the first flush. */
export class LineWriter {
  readonly path: string;
  readonly #flushAt: number;
  #buffer = '';
  #bytes = 0;

  constructor(path: string, flushAt = 256 * 1024) {
    this.path = path;
    this.#flushAt = flushAt;
  }

  /** Bytes written to the file so far (0: the file does not exist). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Buffers `text`; returns a promise only when the buffer had to be written out. */
  write(text: string): Promise<void> | undefined {
    this.#buffer += text;
    return this.#buffer.length >= this.#flushAt ? this.flush() : undefined;
  }

  /** Writes the buffer out. Opening and closing per flush keeps no descriptor open between flushes. */
  async flush(): Promise<void> {
    if (this.#buffer === '') return;
    const data = Buffer.from(this.#buffer, 'utf8');
    this.#buffer = '';
    await appendFile(this.path, data, { mode: 0o600 });
    this.#bytes += data.length;
  }
}

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
