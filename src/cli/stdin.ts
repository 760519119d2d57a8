import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SyncError } from '../errors.js';

/** An input file ready to read, however it was given. */
export interface SpooledInput {
  /** The absolute path to read. */
  readonly path: string;
  /** How the user named it, for messages and reports (`standard input` for `-`). */
  readonly label: string;
  /** Removes the private copy of standard input (nothing for a file). Safe to call twice. */
  dispose(): Promise<void>;
}

/** What {@link spoolInput} needs of the command's world. */
export interface SpoolIo {
  readonly cwd: string;
  readonly stdin?: Readable & { isTTY?: boolean };
  readonly signal?: AbortSignal;
}

/**
 * `-` as the input reads standard input. A run reads its input more than once (a digest first, then
 * the rows; a plan file is validated, then applied) and a resumed run must see whether its input
 * changed, so standard input is first copied whole to a private file (a folder of mode 0700 in the
 * temporary folder, the file 0600), removed by `dispose()`. Its digest is that of the bytes read, so a
 * checkpoint made from another input is refused as with any file. A terminal is refused (it would wait
 * for typing); a signal while copying stops with `SyncError('INTERRUPTED')`.
 */
export async function spoolInput(input: string, io: SpoolIo): Promise<SpooledInput> {
  if (input !== '-') return { path: resolve(io.cwd, input), label: input, dispose: async () => undefined };
  const stdin = io.stdin;
  if (stdin === undefined) {
    throw new SyncError('USAGE', 'the input is `-` (standard input), but no standard input is available');
  }
  if (stdin.isTTY === true) {
    throw new SyncError(
      'USAGE',
      'the input is `-` (standard input), which is a terminal: pipe the CSV or plan in (cgsync plan - < export.csv)',
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'cgsync-stdin-'));
  const path = join(dir, 'input');
  let disposed = false;
  const dispose = async (): Promise<void> => {
    if (disposed) return;
    disposed = true;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const file = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    if (io.signal === undefined) await pipeline(stdin, file);
    else await pipeline(stdin, file, { signal: io.signal });
  } catch (err) {
    await dispose();
    if (io.signal?.aborted === true) {
      const reason: unknown = io.signal.reason;
      throw reason instanceof SyncError
        ? reason
        : new SyncError('INTERRUPTED', 'stopped while reading standard input');
    }
    throw new SyncError(
      'IO',
      `cannot read standard input: ${err instanceof Error ? err.message : String(err)}`,
      {},
      { cause: err },
    );
  }
  return { path, label: 'standard input', dispose };
}
