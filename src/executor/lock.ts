import { readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { SyncError } from '../errors.js';

/** What a lock file holds. */
export interface LockInfo {
  readonly pid: number;
  readonly hostname: string;
  /** ISO time the holder started. */
  readonly startedAt: string;
}

/** A held lock; `release` removes the file if it is still ours. */
export interface Lock {
  readonly path: string;
  release(): Promise<void>;
}

/** Options of {@link acquireLock}; the defaults describe this process. */
export interface LockOptions {
  /** @default process.pid */
  readonly pid?: number;
  /** @default os.hostname() */
  readonly hostname?: string;
  /** @default new Date() */
  readonly now?: () => Date;
  /** Whether a pid runs on this host. @default a `process.kill(pid, 0)` probe */
  readonly isRunning?: (pid: number) => boolean;
}

/** The lock file of a checkpoint. */
export function lockPathFor(checkpointPath: string): string {
  return `${checkpointPath}.lock`;
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseLock(text: string): LockInfo | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { pid, hostname: host, startedAt } = value as Record<string, unknown>;
    if (!Number.isInteger(pid) || typeof host !== 'string' || typeof startedAt !== 'string') return undefined;
    return { pid: pid as number, hostname: host, startedAt };
  } catch {
    return undefined;
  }
}

/**
 * Takes the exclusive lock next to a checkpoint (`<checkpoint>.lock`, created with `wx`). A lock left by
 * a process that no longer runs on this host is stale and taken over; any other existing lock is
 * refused with `SyncError('LOCKED')`.
 */
export async function acquireLock(checkpointPath: string, options: LockOptions = {}): Promise<Lock> {
  const path = lockPathFor(checkpointPath);
  const me: LockInfo = {
    pid: options.pid ?? process.pid,
    hostname: options.hostname ?? hostname(),
    startedAt: (options.now?.() ?? new Date()).toISOString(),
  };
  const isRunning = options.isRunning ?? processRuns;
  const text = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, text, { flag: 'wx', mode: 0o600 });
      return {
        path,
        async release() {
          const current = await readFile(path, 'utf8').catch(() => undefined);
          if (current === text) await unlink(path).catch(() => undefined);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new SyncError(
          'IO',
          `cannot create lock file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
          {
            path,
          },
        );
      }
    }
    const holder = parseLock(await readFile(path, 'utf8').catch(() => ''));
    if (holder !== undefined && holder.hostname === me.hostname && !isRunning(holder.pid) && attempt === 0) {
      await unlink(path).catch(() => undefined); // stale: its process is gone
      continue;
    }
    const who =
      holder === undefined
        ? 'an unreadable lock'
        : `pid ${holder.pid} on ${holder.hostname} since ${holder.startedAt}`;
    throw new SyncError(
      'LOCKED',
      `checkpoint ${checkpointPath} is in use (${who}); wait for that run to end, or delete ${path} if it no longer runs`,
      { path },
    );
  }
  throw new SyncError('LOCKED', `checkpoint ${checkpointPath} is in use; delete ${path} if no run uses it`, {
    path,
  });
}
