import { constants } from 'node:fs';
import { access, type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SyncError } from '../errors.js';
import { conversationKey } from '../model.js';
import type { Operation } from '../planner/types.js';
import { CANONICAL_HEADER } from '../reader/index.js';
import { canonicalRow } from './failures-file.js';

const HEADER_LINE = `${CANONICAL_HEADER.join(',')}\n`;
const TAIL_CHUNK = 1 << 16;

/**
 * The rows that put back what `op` removes, in the input format: a delete's group with what it held
 * (the empty-group row when it held nothing), an update's removed conversations. A delete whose
 * contents are unknown (`held` absent: a plan made before it was recorded) gives the empty-group row.
 */
export function backupRows(op: Operation): string[] {
  if (op.kind === 'delete') {
    const held = op.held ?? [];
    if (held.length === 0) return [canonicalRow(op.user, op.group, undefined)];
    return held.map((c) => canonicalRow(op.user, op.group, conversationKey(c)));
  }
  if (op.kind === 'update') return op.remove.map((c) => canonicalRow(op.user, op.group, conversationKey(c)));
  return [];
}

/**
 * `apply --backup FILE`: what each delete or removal takes away, appended before its call is sent and
 * fsync'd, as a CSV in the input format (canonical header), so `apply FILE --mode merge` puts it back.
 *
 * - Created 0600 with its header; an existing file is appended to (a resumed run adds to the rows of
 *   the run it resumes, nothing is lost) when its first line is the canonical header, and refused
 *   otherwise. A last line cut short by a kill (never fsync'd, so its call was never sent) is cut off.
 * - A row may appear twice (a run killed between the append and the call sends the call again when
 *   resumed, and appends again first): the reader takes duplicate rows as one.
 * - Appends arriving while an fsync is under way are written and fsync'd together (group commit); each
 *   `append` resolves once its rows are on disk. A failed write or fsync rejects that append and every
 *   later one with `SyncError('IO')`.
 */
export class BackupFile {
  readonly path: string;
  readonly #handle: FileHandle;
  #queue: string[] = [];
  #waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  #draining: Promise<void> | undefined;
  #error: SyncError | undefined;
  #rows = 0;

  private constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.#handle = handle;
  }

  /** Opens (creating it 0600 with its header) the backup file at `path`. */
  static async open(path: string): Promise<BackupFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'a+', 0o600);
    } catch (err) {
      throw ioError(path, err);
    }
    try {
      await prepare(path, handle);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err instanceof SyncError ? err : ioError(path, err);
    }
    return new BackupFile(path, handle);
  }

  /**
   * Checks, before any call, that `path` can be a backup: an existing file must start with the header
   * (it is not changed), a new one must be creatable in its folder. Throws what {@link open} would.
   */
  static async check(path: string): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(path, err);
      await access(dirname(path), constants.W_OK).catch((e: unknown) => {
        throw ioError(path, e);
      });
      return;
    }
    try {
      await checkHeader(path, handle, (await handle.stat()).size);
    } finally {
      await handle.close();
    }
  }

  /** Rows appended by this run. */
  get rows(): number {
    return this.#rows;
  }

  /** Appends the rows that undo `op` and resolves once they are fsync'd. */
  append(op: Operation): Promise<void> {
    const rows = backupRows(op);
    if (rows.length === 0) return Promise.resolve();
    if (this.#error !== undefined) return Promise.reject(this.#error);
    this.#rows += rows.length;
    return new Promise<void>((resolve, reject) => {
      this.#queue.push(`${rows.join('\n')}\n`);
      this.#waiters.push({ resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const text = this.#queue.join('');
      const waiters = this.#waiters;
      this.#queue = [];
      this.#waiters = [];
      try {
        if (this.#error !== undefined) throw this.#error;
        await writeAll(this.#handle, Buffer.from(text, 'utf8'));
        await this.#handle.sync();
        for (const w of waiters) w.resolve();
      } catch (err) {
        this.#error ??= err instanceof SyncError ? err : ioError(this.path, err);
        for (const w of waiters) w.reject(this.#error);
      }
    }
    this.#draining = undefined;
  }

  /** Waits for appends under way, then closes the file. */
  async close(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
    await this.#handle.close();
  }
}

/** A new file gets its header; an existing one must start with it and loses a torn last line. */
async function prepare(path: string, handle: FileHandle): Promise<void> {
  const { size } = await handle.stat();
  if (size === 0) {
    await writeAll(handle, Buffer.from(HEADER_LINE, 'utf8'));
    await handle.sync();
    return;
  }
  await checkHeader(path, handle, size);
  const end = await lastLineEnd(handle, size);
  if (end < size) await handle.truncate(end);
}

async function checkHeader(path: string, handle: FileHandle, size: number): Promise<void> {
  const head = Buffer.alloc(Math.min(size, HEADER_LINE.length));
  await handle.read(head, 0, head.length, 0);
  if (head.toString('utf8') !== HEADER_LINE) {
    throw new SyncError(
      'USAGE',
      `--backup ${path} exists and is not a cgsync backup (its first line is not "${CANONICAL_HEADER.join(',')}"): give a new file or an earlier backup; nothing was written`,
      { path },
    );
  }
}

/** The offset just after the last `\n` of the file (its size when it ends with one). */
async function lastLineEnd(handle: FileHandle, size: number): Promise<number> {
  let pos = size;
  while (pos > 0) {
    const start = Math.max(0, pos - TAIL_CHUNK);
    const buf = Buffer.alloc(pos - start);
    await handle.read(buf, 0, buf.length, start);
    const at = buf.lastIndexOf(0x0a);
    if (at >= 0) return start + at + 1;
    pos = start;
  }
  return 0;
}

async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

function ioError(path: string, err: unknown): SyncError {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  return new SyncError('IO', `cannot write the backup file ${path}: ${code}`, { path }, { cause: err });
}
