import { createReadStream } from 'node:fs';
import { type FileHandle, open, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SyncError } from '../errors.js';
import {
  type CheckpointHeader,
  type CheckpointRecord,
  computeRunKey,
  headerVersion,
  type OpRecord,
  parseHeader,
  parseRecord,
  type RunIdentity,
  type UserRecord,
} from './checkpoint-records.js';

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
  /**
   * Group-commit interval: records are written and fsync'd at most this long after they were made.
   * @default 25
   */
  readonly flushIntervalMs?: number;
  /** Opens the file for appending (a test seam). @default {@link openAppendFile} */
  readonly openFile?: (path: string) => Promise<CheckpointFile>;
}

/** The state a checkpoint file holds. */
export interface LoadedCheckpoint {
  readonly header: CheckpointHeader | undefined;
  readonly done: ReadonlySet<string>;
  readonly begun: ReadonlyMap<string, ReadonlySet<string>>;
  /** Bytes up to the end of the last complete, valid line (a torn tail is cut off before appending). */
  readonly validBytes: number;
  readonly totalBytes: number;
}

const NEWLINE = 0x0a;

/**
 * Reads a checkpoint file line by line with bounded memory. A last line without `\n` or that does not
 * parse (a write cut short by a kill) is ignored; a bad line anywhere else is an error naming the line.
 */
export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  let header: CheckpointHeader | undefined;
  const done = new Set<string>();
  const begun = new Map<string, Set<string>>();
  let lineNo = 0;
  let offset = 0;
  let validBytes = 0;
  let pendingError: SyncError | undefined;
  let carry: Buffer = Buffer.alloc(0);

  const handleLine = (bytes: Buffer, end: number) => {
    lineNo++;
    if (pendingError !== undefined) throw pendingError; // a bad line followed by another one
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      value = undefined;
    }
    if (lineNo === 1) {
      header = parseHeader(value);
      if (header === undefined) {
        const version = headerVersion(value);
        pendingError = new SyncError(
          'CHECKPOINT',
          version === undefined
            ? `checkpoint ${path} is not a cgsync checkpoint (line 1 is not its header)`
            : `checkpoint ${path} has format version ${String(version)}; this cgsync reads version 1`,
          { path, line: 1 },
        );
        return;
      }
      validBytes = end;
      return;
    }
    const record = parseRecord(value);
    if (record === undefined) {
      pendingError = new SyncError(
        'CHECKPOINT',
        `checkpoint ${path} is damaged: line ${lineNo} is not a valid record`,
        {
          path,
          line: lineNo,
        },
      );
      return;
    }
    applyRecord(record, done, begun);
    validBytes = end;
  };

  const stream = createReadStream(path);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      let nl = chunk.indexOf(NEWLINE, start);
      while (nl !== -1) {
        const piece = chunk.subarray(start, nl);
        const line = carry.length > 0 ? Buffer.concat([carry, piece]) : piece;
        carry = Buffer.alloc(0);
        handleLine(line, offset + nl + 1);
        start = nl + 1;
        nl = chunk.indexOf(NEWLINE, start);
      }
      if (start < chunk.length) carry = Buffer.concat([carry, chunk.subarray(start)]);
      offset += chunk.length;
    }
  } catch (err) {
    if (err instanceof SyncError) throw err;
    throw ioError(`cannot read checkpoint ${path}`, path, err);
  }
  if (pendingError !== undefined) {
    // A bad last complete line is a write cut short, but a bad header or a bad line followed by more
    // bytes is damage.
    if (lineNo === 1 || carry.length > 0) throw pendingError;
  }
  if (header === undefined) {
    if (carry.length > 0 && !carry.toString('utf8').startsWith('{"type":"header"')) {
      throw new SyncError(
        'CHECKPOINT',
        `checkpoint ${path} is not a cgsync checkpoint (line 1 is not its header)`,
        {
          path,
          line: 1,
        },
      );
    }
    validBytes = 0; // empty, or only a torn header: start afresh
  }
  return { header, done, begun, validBytes, totalBytes: offset };
}

function applyRecord(record: CheckpointRecord, done: Set<string>, begun: Map<string, Set<string>>): void {
  switch (record.type) {
    case 'begin':
      done.delete(record.user);
      if (!begun.has(record.user)) begun.set(record.user, new Set());
      break;
    case 'op': {
      let ok = begun.get(record.user);
      if (ok === undefined) {
        ok = new Set();
        begun.set(record.user, ok);
      }
      if (record.outcome === 'ok') ok.add(record.id);
      else ok.delete(record.id);
      break;
    }
    case 'user':
      if (record.outcome === 'done') {
        done.add(record.user);
        begun.delete(record.user);
      } else if (record.outcome === 'skipped') {
        begun.delete(record.user);
      }
      break;
  }
}

function ioError(what: string, path: string, cause: unknown): SyncError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const detail = code ?? (cause instanceof Error ? cause.message : String(cause));
  return new SyncError('IO', `${what}: ${detail}`, { path }, { cause });
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

async function syncDirectory(path: string): Promise<void> {
  try {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Best effort: some platforms cannot fsync a directory.
  }
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
    };
    await checkpoint.writeHeader(header);
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
