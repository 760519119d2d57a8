import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

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
 * Writes `text` to `path` atomically: a temporary file (mode 0600) in the same folder, fsync, rename,
 * fsync of the folder. Readers see the old file or the new one, never a part.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(path);
}
