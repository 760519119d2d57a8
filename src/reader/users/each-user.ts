import { SyncError } from '../../errors.js';
import { fromBytes, unescapeValue } from '../stage/row-codec.js';
import type { RowsData } from '../stage/staged.js';
import { readPieces } from '../stage/work-files.js';

function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) {
    throw new SyncError('INTERRUPTED', 'Counting the users of the input was interrupted', {});
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
    for await (const piece of readPieces(rows.spill)) {
      stopIfAborted(signal);
      for (let start = 0; start < piece.length; ) {
        const end = piece.indexOf('\n', start);
        const raw = piece.slice(start, piece.indexOf('\t', start));
        if (raw !== previous) {
          previous = raw;
          emit(raw);
        }
        start = end < 0 ? piece.length : end + 1;
      }
    }
    return;
  }
  for (const partition of rows.partitions) {
    const seen = new Set<string>();
    for await (const piece of readPieces(partition.path)) {
      stopIfAborted(signal);
      for (let start = 0; start < piece.length; ) {
        const end = piece.indexOf('\n', start);
        const raw = piece.slice(start, piece.indexOf('\t', start));
        if (!seen.has(raw)) {
          seen.add(raw);
          emit(raw);
        }
        start = end < 0 ? piece.length : end + 1;
      }
    }
  }
}
