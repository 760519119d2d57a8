import { randomBytes } from 'node:crypto';
import { closeSync, openSync, unlinkSync } from 'node:fs';
import { open, readdir, realpath, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** fsyncs the folder holding `path`, so a create or rename in it survives a power cut. Best effort. */
export async function syncDirectory(path: string): Promise<void> {
  try {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Some platforms cannot open or fsync a folder.
  }
}

/**
 * Temporary names handed out and not yet renamed into place or removed. A process that ends through
 * `process.exit` (a second Ctrl-C during the write of a plan, snapshot or failures file) cannot run
 * the code that would commit or remove them: one `exit` listener removes them synchronously, as
 * work-dir.ts does for working directories. (A process killed with SIGKILL cannot run it.)
 */
const pendingTemps = new Set<string>();
let exitHookInstalled = false;

function removePendingTemps(): void {
  for (const tmp of pendingTemps) {
    try {
      unlinkSync(tmp);
    } catch {
      // Already renamed into place or never created: nothing to remove.
    }
  }
  pendingTemps.clear();
}

/**
 * A temporary name beside `path` (same folder, so the final rename stays on one file system), hidden
 * and unique per process and call: `.<name>.<pid>.<random>.tmp`. Whatever is still at that name when
 * the process exits is removed; {@link commitTemp} and {@link discardTemp} end its life earlier.
 */
export function tempPathFor(path: string): string {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  pendingTemps.add(tmp);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', removePendingTemps);
  }
  return tmp;
}

/**
 * Creates the temporary file for `path` (empty, {@link tempPathFor}'s name, `mode` less the umask, never
 * an existing file) and returns its name; writers then open it without creating it (`r+`).
 *
 * Synchronous on purpose: an asynchronous open runs on libuv's thread pool, and a `process.exit` (a
 * second signal) in the meantime would run the exit listener before the file exists, so the pool
 * would create it after the listener had removed nothing and leave it behind. Created here, the file
 * exists before any exit listener can run; a later open that finds it removed fails instead of
 * creating it again.
 */
export function createTemp(path: string, mode = 0o600): string {
  const tmp = tempPathFor(path);
  try {
    closeSync(openSync(tmp, 'wx', mode));
  } catch (error) {
    forgetTemp(tmp);
    throw error;
  }
  return tmp;
}

/** The temporary file `tmp` was moved into place (or otherwise ended): no longer removed at exit. */
export function forgetTemp(tmp: string): void {
  pendingTemps.delete(tmp);
}

/** Removes the temporary file `tmp` (if there) and forgets it. Never throws. */
export async function discardTemp(tmp: string): Promise<void> {
  await unlink(tmp).catch(() => undefined);
  forgetTemp(tmp);
}

/** Whether process `pid` runs on this machine (EPERM: it does, as another user). */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files of `path` ({@link tempPathFor}'s names) left by processes that are gone:
 * a kill -9 or an out-of-memory kill mid-write runs no exit listener, and would otherwise leave a
 * hidden copy of a big plan or snapshot beside it for good. A running process's file is left alone.
 * Best effort: called after a commit, it never fails it.
 */
export async function sweepStaleTemps(
  path: string,
  isRunning: (pid: number) => boolean = processRuns,
): Promise<void> {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = /^(\d+)\.[0-9a-f]{8}$/.exec(name.slice(prefix.length, -'.tmp'.length))?.[1];
    if (pid === undefined || Number(pid) === process.pid || isRunning(Number(pid))) continue;
    await unlink(join(dir, name)).catch(() => undefined);
  }
}

/** Temporary names still to be removed at exit (for tests). */
export function pendingTempPaths(): readonly string[] {
  return [...pendingTemps];
}

/**
 * The file a rename should replace for `path`: the target of a symbolic link (so writing through a link
 * keeps the link), else `path` itself.
 */
export async function renameTarget(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return path;
  }
}

/** Makes a finished temporary file durable and moves it over `path`; removes it on failure. */
export async function commitTemp(tmp: string, path: string): Promise<void> {
  try {
    const handle = await open(tmp, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, await renameTarget(path));
    forgetTemp(tmp);
  } catch (error) {
    await discardTemp(tmp);
    throw error;
  }
  await syncDirectory(path);
  await sweepStaleTemps(path);
}

/**
 * Writes `text` to `path` atomically: a temporary file (mode 0600 unless `mode` says otherwise) in the
 * same folder, fsync, rename, fsync of the folder. Readers see the old file or the new one, never a
 * part; a write cut short leaves the old file as it was.
 */
export async function writeFileAtomic(path: string, text: string, mode = 0o600): Promise<void> {
  const tmp = createTemp(path, mode);
  try {
    const handle = await open(tmp, 'r+');
    try {
      // A mode other than the private default is meant as given (another user reads it), whatever the umask.
      if (mode !== 0o600) await handle.chmod(mode);
      await handle.writeFile(text, 'utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    await discardTemp(tmp);
    throw error;
  }
  await commitTemp(tmp, path);
}
