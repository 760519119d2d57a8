import { lstat, readlink, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { SyncError } from '../errors.js';

/** One file a run reads or writes, named by the flag that gave it. */
export interface RunPath {
  /** How the user named it: `the input`, `--failures`, `--checkpoint's lock`, … */
  readonly flag: string;
  /** As given (relative to the working folder) or absolute; `-` is standard input and never collides. */
  readonly path: string;
  /** An output is written (or appended to) by the run; an input is only read. */
  readonly role: 'input' | 'output';
}

/** `{flag, path, role}` when `path` is given, else nothing: for optional flags in a list. */
export function optionalPath(flag: string, path: string | undefined, role: RunPath['role']): RunPath[] {
  return path === undefined ? [] : [{ flag, path, role }];
}

/** Links followed before a dangling chain is taken as it is. */
const MAX_LINKS = 40;

/**
 * The identity of the file `path` names: `(device, inode)` when it exists, so hard links and
 * symbolic links meet; otherwise the real path of its folder plus its name, so `./a/../x` and a
 * linked folder meet (a dangling link is followed to the file it would create).
 */
async function fileIdentity(path: string, depth = 0): Promise<string> {
  try {
    const s = await stat(path);
    return `inode ${s.dev}:${s.ino}`;
  } catch {
    // Not there (yet): fall through.
  }
  if (depth < MAX_LINKS) {
    try {
      if ((await lstat(path)).isSymbolicLink()) {
        return await fileIdentity(resolve(dirname(path), await readlink(path)), depth + 1);
      }
    } catch {
      // Not a link either.
    }
  }
  try {
    return `path ${join(await realpath(dirname(path)), basename(path))}`;
  } catch {
    return `path ${path}`;
  }
}

/**
 * Refuses a run in which an output names an input or another output, however spelled (another
 * relative path, `..`, a symbolic link, a hard link): `apply ff.csv --failures ff.csv` would otherwise
 * truncate its own input, `--state` naming the checkpoint would overwrite it. Called before anything
 * is written or called. Throws `SyncError('USAGE')` naming both flags and the file.
 */
export async function checkPathCollisions(paths: readonly RunPath[], cwd: string): Promise<void> {
  const seen = new Map<string, RunPath & { absolute: string }>();
  for (const entry of paths) {
    if (entry.path === '-') continue;
    const absolute = resolve(cwd, entry.path);
    const id = await fileIdentity(absolute);
    const other = seen.get(id);
    if (other !== undefined && (other.role === 'output' || entry.role === 'output')) {
      const same = other.absolute === absolute ? absolute : `${other.absolute} and ${absolute}`;
      throw new SyncError(
        'USAGE',
        `${other.flag} and ${entry.flag} name the same file (${same}): give each its own file; nothing was written and no call was made`,
        { path: absolute },
      );
    }
    // An output wins the slot: a later input meeting it must be refused too.
    if (other === undefined || entry.role === 'output') seen.set(id, { ...entry, absolute });
  }
}
