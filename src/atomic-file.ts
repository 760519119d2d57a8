import { randomBytes } from 'node:crypto';
import { open, realpath, rename, unlink } from 'node:fs/promises';
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
 * A temporary name beside `path` (same folder, so the final rename stays on one file system), hidden
 * and unique per process and call: `.<name>.<pid>.<random>.tmp`.
 */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
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
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(path);
}

/**
 * Writes `text` to `path` atomically: a temporary file (mode 0600 unless `mode` says otherwise) in the
 * same folder, fsync, rename, fsync of the folder. Readers see the old file or the new one, never a
 * part; a write cut short leaves the old file as it was.
 */
export async function writeFileAtomic(path: string, text: string, mode = 0o600): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    const handle = await open(tmp, 'wx', mode);
    try {
      // A mode other than the private default is meant as given (another user reads it), whatever the umask.
      if (mode !== 0o600) await handle.chmod(mode);
      await handle.writeFile(text, 'utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  await commitTemp(tmp, path);
}
