import { SyncError } from '../../errors.js';
import { fromBytes, unescapeValue } from '../stage/row-codec.js';
import type { RowsData } from '../stage/staged.js';
import { readPieces } from '../stage/work-files.js';

function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) {
    throw new SyncError('INTERRUPTED', 'Counting the users of the input was interrupted', {});
  }
}

/** Calls `onRaw` with the raw first field (the user, escaped) of each line of a work file, in order. */
async function eachRawUser(path: string, onRaw: (raw: string) => void, signal?: AbortSignal): Promise<void> {
  for await (const piece of readPieces(path)) {
    stopIfAborted(signal);
    for (let start = 0; start < piece.length; ) {
      const end = piece.indexOf('\n', start);
      onRaw(piece.slice(start, piece.indexOf('\t', start)));
      start = end < 0 ? piece.length : end + 1;
    }
  }
}

/**
 * Tells `visit` each distinct user of staged rows once (the ID as the users stream gives it), without
 * consuming the rows: a user whose rows were all rejected included, as the stream yields it. Only the
 * lines' first field is looked at, not decoded into users: grouped rows (the spill) are one pass
 * counting where the user changes; partitioned rows are read one partition at a time, each with a set
 * of its users, so memory stays that of one partition (a user's rows are all in one partition).
 */
export async function eachStagedUser(
  rows: RowsData,
  visit: (user: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const emit = (raw: string) => visit(unescapeValue(fromBytes(raw)));
  if (rows.partitions === undefined) {
    if (rows.spill === undefined) return;
    let previous: string | undefined;
    await eachRawUser(
      rows.spill,
      (raw) => {
        if (raw === previous) return;
        previous = raw;
        emit(raw);
      },
      signal,
    );
    return;
  }
  for (const partition of rows.partitions) {
    const seen = new Set<string>();
    await eachRawUser(
      partition.path,
      (raw) => {
        if (seen.has(raw)) return;
        seen.add(raw);
        emit(raw);
      },
      signal,
    );
  }
}
