import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SyncError } from './errors.js';

/**
 * Working directories (`<base>/cgsync-XXXXXX`): the reader's staged rows, a job's temporary files.
 * Directories still present when the process (or the worker thread) exits, normally or through
 * `process.exit`, are removed synchronously by one `exit` listener; a process killed by a signal it
 * does not handle cannot run it, which is why the CLI turns SIGINT/SIGTERM into an orderly stop.
 */

const live = new Set<string>();
let exitHookInstalled = false;

function removeAllSync(): void {
  for (const dir of live) {
    try {
      // A file the thread pool was still creating in it when `process.exit` came makes the last rmdir
      // fail with ENOTEMPTY: Node retries (reading the folder again) after 10 ms, then 20.
      rmSync(dir, { recursive: true, force: true, maxRetries: 2, retryDelay: 10 });
    } catch {
      // Best effort at exit: nothing else can be done.
    }
  }
  live.clear();
}

/**
 * Creates `<base>/cgsync-XXXXXX`, removed at exit if still there. Synchronously, as atomic-file's
 * `createTemp`: a `process.exit` while the thread pool created it would leave it behind unregistered.
 */
export async function createWorkDir(base: string): Promise<string> {
  let dir: string;
  try {
    dir = mkdtempSync(join(base, 'cgsync-'));
  } catch (error) {
    throw new SyncError(
      'IO',
      `Cannot create a working directory in ${base}: ${(error as Error).message}`,
      { path: base },
      { cause: error },
    );
  }
  live.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', removeAllSync);
  }
  return dir;
}

/** Removes a working directory and all it holds (safe to call more than once). */
export async function removeWorkDir(dir: string): Promise<void> {
  live.delete(dir);
  await rm(dir, { recursive: true, force: true });
}

/** Stops removing `dir` at exit: another thread of this process owns it now. */
export function releaseWorkDir(dir: string): void {
  live.delete(dir);
}

/** Directories currently registered for removal (for tests). */
export function liveWorkDirs(): readonly string[] {
  return [...live];
}
