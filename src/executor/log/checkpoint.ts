import { type FileHandle, open, stat, truncate } from 'node:fs/promises';
import { syncDirectory } from '../../atomic-file.js';
import { SyncError } from '../../errors.js';
import { ioError, type LoadedCheckpoint, loadCheckpoint } from './checkpoint-load.js';
import {
  type CheckpointHeader,
  type CheckpointRecord,
  type CheckpointTarget,
  computeRunKey,
  type OpRecord,
  type RunIdentity,
  type UserRecord,
} from './checkpoint-records.js';

export { type LoadedCheckpoint, loadCheckpoint } from './checkpoint-load.js';

/** What a previous run left for one user. */
export type UserProgress =
  | { readonly status: 'done' }
  /** Begun (and maybe failed) but not done: `okOps` are the operations known to be applied. */
  | { readonly status: 'begun'; readonly okOps: ReadonlySet<string> };

/**
 * The checkpoint as the run loop uses it. Records are buffered and written in batches (group commit);
 * `begin` resolves only once its record is on disk.
 */
export interface CheckpointStore {
  /** What the loaded checkpoint says about `user` (not updated by this run's records). */
  progressOf(user: string): UserProgress | undefined;
  /** Records that `user` is about to be changed; resolves when the record is durable. */
  begin(user: string): Promise<void>;
  recordOp(record: Omit<OpRecord, 'type'>): void;
  recordUser(record: Omit<UserRecord, 'type'>): void;
  /** Writes and syncs everything buffered. */
  flush(): Promise<void>;
  /** The write failure that stopped the log, if any; every later call fails with it. */
  readonly failure: SyncError | undefined;
}

/** Where checkpoint bytes go. */
export interface CheckpointFile {
  /** Appends `data` and makes it durable (fsync). */
  append(data: string): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link openCheckpoint}. */
export interface OpenCheckpointOptions {
  readonly identity: RunIdentity;
  /** The cgsync version, written in the header. */
  readonly toolVersion: string;
  /** The run's target, written in the header; a checkpoint written for another one is refused. */
  readonly target?: CheckpointTarget;
  /**
   * Group-commit interval: records are written and fsync'd at most this long after they were made.
   * @default 25
   */
  readonly flushIntervalMs?: number;
  /** Opens the file for appending (a test seam). @default {@link openAppendFile} */
  readonly openFile?: (path: string) => Promise<CheckpointFile>;
}

/** A file opened for appending with mode 0600; every append is followed by fdatasync. */
export async function openAppendFile(path: string): Promise<CheckpointFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'a', 0o600);
  } catch (err) {
    throw ioError(`cannot open checkpoint ${path}`, path, err);
  }
  return {
    async append(data) {
      await handle.appendFile(data, 'utf8');
      try {
        await handle.datasync();
      } catch (err) {
        // Character devices and some pipes cannot be synced; a regular file always can.
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EINVAL' && code !== 'ENOTSUP') throw err;
      }
    },
    close: () => handle.close(),
  };
}

/**
 * Opens (or creates) the checkpoint at `path` for this run. A file written for another run is refused;
 * a torn last line is cut off. Take the lock (lock.ts) first.
 */
export async function openCheckpoint(path: string, options: OpenCheckpointOptions): Promise<Checkpoint> {
  const runKey = computeRunKey(options.identity);
  let regular = false;
  try {
    regular = (await stat(path)).isFile();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw ioError(`cannot read checkpoint ${path}`, path, err);
  }
  const loaded: LoadedCheckpoint = regular
    ? await loadCheckpoint(path)
    : { header: undefined, done: new Set(), begun: new Map(), validBytes: 0, totalBytes: 0 };
  if (loaded.header !== undefined && loaded.header.runKey !== runKey) {
    const h = loaded.header;
    throw new SyncError(
      'CHECKPOINT',
      `checkpoint ${path} belongs to a different run (input digest ${h.inputDigest.slice(0, 12)}…, mode ${h.mode}` +
        `${h.assumeEmpty ? ', assume-empty' : ''}); use a new --checkpoint file or delete this one`,
      { path },
    );
  }
  const was = loaded.header?.target;
  const now = options.target;
  if (was !== undefined && now !== undefined && (was.sdkAppId !== now.sdkAppId || was.host !== now.host)) {
    throw new SyncError(
      'CHECKPOINT',
      `checkpoint ${path} was written by a run against SDKAppID ${was.sdkAppId} at ${was.host}, but this run targets SDKAppID ${now.sdkAppId} at ${now.host}: its users done there were not done here; use a new --checkpoint file`,
      { path },
    );
  }
  if (regular && loaded.validBytes < loaded.totalBytes) {
    try {
      await truncate(path, loaded.validBytes);
    } catch (err) {
      throw ioError(`cannot repair checkpoint ${path}`, path, err);
    }
  }
  const file = await (options.openFile ?? openAppendFile)(path);
  const checkpoint = new Checkpoint(path, file, loaded, options.flushIntervalMs ?? 25);
  if (loaded.header === undefined) {
    const header: CheckpointHeader = {
      type: 'header',
      format: 'cgsync-checkpoint',
      version: 1,
      runKey,
      ...options.identity,
      toolVersion: options.toolVersion,
      ...(options.target === undefined ? {} : { target: options.target }),
    };
    try {
      await checkpoint.writeHeader(header);
    } catch (err) {
      // The run never starts: release the descriptor now rather than at garbage collection.
      await file.close().catch(() => undefined);
      throw err;
    }
    await syncDirectory(path);
  }
  return checkpoint;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/** The append-only NDJSON checkpoint log with group commit. */
export class Checkpoint implements CheckpointStore {
  readonly path: string;
  readonly #file: CheckpointFile;
  readonly #loaded: LoadedCheckpoint;
  readonly #intervalMs: number;
  #buffer: string[] = [];
  #waiters: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #failure: SyncError | undefined;
  #closed = false;

  constructor(path: string, file: CheckpointFile, loaded: LoadedCheckpoint, flushIntervalMs: number) {
    this.path = path;
    this.#file = file;
    this.#loaded = loaded;
    this.#intervalMs = flushIntervalMs;
  }

  get failure(): SyncError | undefined {
    return this.#failure;
  }

  /** Users the loaded checkpoint has as done (an earlier run of the same input, mode and shard). */
  get doneUsers(): number {
    return this.#loaded.done.size;
  }

  /** The header of the file as loaded (undefined for a new file). */
  get loadedHeader(): CheckpointHeader | undefined {
    return this.#loaded.header;
  }

  progressOf(user: string): UserProgress | undefined {
    if (this.#loaded.done.has(user)) return { status: 'done' };
    const okOps = this.#loaded.begun.get(user);
    return okOps === undefined ? undefined : { status: 'begun', okOps };
  }

  /** Writes the header line at once (used for a new file). */
  async writeHeader(header: CheckpointHeader): Promise<void> {
    this.#buffer.push(`${JSON.stringify(header)}\n`);
    await this.flush();
  }

  begin(user: string): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise<void>((resolve, reject) => {
      this.#push({ type: 'begin', user });
      this.#waiters.push({ resolve, reject });
    });
  }

  recordOp(record: Omit<OpRecord, 'type'>): void {
    this.#push({ type: 'op', ...record });
  }

  recordUser(record: Omit<UserRecord, 'type'>): void {
    this.#push({ type: 'user', ...record });
  }

  #push(record: CheckpointRecord): void {
    if (this.#failure !== undefined || this.#closed) return;
    this.#buffer.push(`${JSON.stringify(record)}\n`);
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.flush().catch(() => undefined); // the failure is kept and reported by the next call
      }, this.#intervalMs);
    }
  }

  async flush(): Promise<void> {
    while (this.#writing !== undefined) await this.#writing.catch(() => undefined);
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#buffer.length === 0) return;
    const data = this.#buffer.join('');
    const waiters = this.#waiters;
    this.#buffer = [];
    this.#waiters = [];
    const writing = this.#file.append(data);
    this.#writing = writing;
    try {
      await writing;
      for (const w of waiters) w.resolve();
    } catch (err) {
      this.#failure = ioError(`cannot write checkpoint ${this.path}; the run stops`, this.path, err);
      for (const w of waiters) w.reject(this.#failure);
      throw this.#failure;
    } finally {
      this.#writing = undefined;
    }
  }

  /** Flushes what is buffered and closes the file. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      if (this.#failure === undefined) await this.flush();
    } finally {
      this.#closed = true;
      await this.#file.close().catch(() => undefined);
    }
  }
}
