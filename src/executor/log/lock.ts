import { createHash } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { createTemp, discardTemp, processRuns } from '../../atomic-file.js';
import { SyncError } from '../../errors.js';

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
  /** What the lock guards, for messages (`state file`). @default 'checkpoint' */
  readonly what?: string;
}

/** The lock file of a checkpoint. */
export function lockPathFor(checkpointPath: string): string {
  return `${checkpointPath}.lock`;
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

/** Attempts before giving up on a lock that keeps changing under us. */
const ATTEMPTS = 6;

/**
 * Takes the exclusive lock next to a checkpoint (`<checkpoint>.lock`, mode 0600), atomically:
 *
 * - The lock is first written whole under a unique temporary name, then `link`ed to the lock's name,
 *   which fails if the name exists: a lock file is never seen half written, and of two processes
 *   only one links.
 * - A lock left by a process that no longer runs on this host is stale and taken over. Only one
 *   process may take over a given stale lock: it must first create `<lock>.takeover-<digest of the
 *   stale lock's bytes>` exclusively; holding it, it checks that the lock still holds those bytes and
 *   `rename`s its own file over it (the name is never empty in between, so no third process can slip
 *   in). Losers find a live lock and are refused.
 * - Any other existing lock (another host, a running process, unreadable) is refused with
 *   `SyncError('LOCKED')`.
 *
 * The lock is released by `release()`, and on any process exit (`process.exit`, a second Ctrl-C, an
 * uncaught error) by an exit hook; only a kill -9 leaves it, and the next run takes it over as stale.
 */
export async function acquireLock(checkpointPath: string, options: LockOptions = {}): Promise<Lock> {
  const path = lockPathFor(checkpointPath);
  const me: LockInfo = {
    pid: options.pid ?? process.pid,
    hostname: options.hostname ?? hostname(),
    startedAt: (options.now?.() ?? new Date()).toISOString(),
  };
  const isRunning = options.isRunning ?? processRuns;
  const what = options.what ?? 'checkpoint';
  const text = `${JSON.stringify(me)}\n`;
  let mine: string;
  try {
    mine = createTemp(path);
  } catch (err) {
    throw cannotCreate(path, err);
  }
  try {
    await writeFile(mine, text, { flag: 'r+' });
  } catch (err) {
    await discardTemp(mine);
    throw cannotCreate(path, err);
  }
  try {
    let holder: LockInfo | undefined;
    let busy = false;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (attempt > 0) await delay(10 * attempt);
      try {
        await link(mine, path);
        return holdLock(path, text);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw cannotCreate(path, err);
      }
      const current = await readFile(path, 'utf8').catch(() => undefined);
      if (current === undefined) continue; // released meanwhile: link again
      holder = parseLock(current);
      if (holder === undefined || holder.hostname !== me.hostname || isRunning(holder.pid)) {
        throw lockedError(what, checkpointPath, path, holder);
      }
      // Stale: its process is gone. Take it over, one process at a time for these exact bytes.
      const token = `${path}.takeover-${createHash('sha256').update(current).digest('hex').slice(0, 16)}`;
      try {
        await writeFile(token, text, { flag: 'wx', mode: 0o600 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw cannotCreate(token, err);
        busy = true; // another process is taking it over right now: look again shortly
        continue;
      }
      try {
        if ((await readFile(path, 'utf8').catch(() => undefined)) !== current) continue;
        await rename(mine, path);
        return holdLock(path, text);
      } finally {
        await unlink(token).catch(() => undefined);
      }
    }
    if (busy) {
      throw new SyncError(
        'LOCKED',
        `${what} ${checkpointPath} is in use: its stale lock is being taken over by another process (or a takeover was cut short: if no run uses it, delete ${path} and ${path}.takeover-*)`,
        { path },
      );
    }
    throw lockedError(what, checkpointPath, path, holder);
  } finally {
    await discardTemp(mine); // linked (the lock keeps its own name) or not needed
  }
}

/** A lock this process holds: released by `release()` or, failing that, when the process exits. */
function holdLock(path: string, text: string): Lock {
  const ours = (current: string | undefined) => current === text;
  const onExit = () => {
    try {
      if (ours(readFileSync(path, 'utf8'))) unlinkSync(path);
    } catch {
      // Gone already.
    }
  };
  process.on('exit', onExit);
  return {
    path,
    async release() {
      process.off('exit', onExit);
      if (ours(await readFile(path, 'utf8').catch(() => undefined)))
        await unlink(path).catch(() => undefined);
    },
  };
}

function lockedError(
  what: string,
  checkpointPath: string,
  path: string,
  holder: LockInfo | undefined,
): SyncError {
  const who =
    holder === undefined
      ? 'an unreadable lock'
      : `pid ${holder.pid} on ${holder.hostname} since ${holder.startedAt}`;
  return new SyncError(
    'LOCKED',
    `${what} ${checkpointPath} is in use (${who}); wait for that run to end, or delete ${path} if it no longer runs`,
    { path },
  );
}

function cannotCreate(path: string, err: unknown): SyncError {
  return new SyncError(
    'IO',
    `cannot create lock file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    { path },
  );
}
