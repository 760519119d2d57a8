import { readFile } from 'node:fs/promises';
import { SyncError } from '../errors.js';

/** Reads a JSON state file; `undefined` when it does not exist. Throws `SyncError` `CHECKPOINT` when unreadable. */
export async function readStateFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SyncError(
      'IO',
      `Cannot read emulator state file: ${(error as Error).message}`,
      { path },
      { cause: error },
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new SyncError('CHECKPOINT', 'Emulator state file is not valid JSON', { path }, { cause: error });
  }
}

import { writeFileAtomic } from '../atomic-file.js';

export { writeFileAtomic };

/**
 * Saves a snapshot at most every `debounceMs` while the state is dirty, one write at a time, and a
 * last time on `close()`. A failed background write is kept and rethrown by the next `flush`/`close`.
 */
export class StateFileWriter {
  readonly #path: string;
  readonly #snapshot: () => unknown;
  readonly #debounceMs: number;
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #error: unknown;

  constructor(path: string, snapshot: () => unknown, debounceMs: number) {
    this.#path = path;
    this.#snapshot = snapshot;
    this.#debounceMs = debounceMs;
  }

  markDirty(): void {
    this.#dirty = true;
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#enqueue().catch((error: unknown) => {
        this.#error = error;
      });
    }, this.#debounceMs);
    this.#timer.unref();
  }

  /** Writes now if dirty, after any write in progress. */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    await this.#enqueue().catch((error: unknown) => {
      this.#error = error;
    });
    const error = this.#error;
    this.#error = undefined;
    if (error !== undefined) {
      throw new SyncError('IO', `Cannot write emulator state file: ${(error as Error).message}`, {
        path: this.#path,
      });
    }
  }

  #enqueue(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      if (!this.#dirty) return;
      this.#dirty = false;
      const text = `${JSON.stringify(this.#snapshot())}\n`;
      try {
        await writeFileAtomic(this.#path, text);
      } catch (error) {
        this.#dirty = true;
        throw error;
      }
    });
    const current = this.#writing;
    // Keep the chain alive after a failure; the failure is reported through the returned promise.
    this.#writing = current.catch(() => undefined);
    return current;
  }
}
