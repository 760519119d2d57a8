import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

/** Files from this size up are read in two parts at once. */
export const DEFAULT_SPLIT_MIN_BYTES = 8 * 1024 * 1024;

/** Where a second reader can start: a record start near the middle of the file. */
export interface SplitPoint {
  /** Byte offset of the second part. */
  readonly offset: number;
  /** Line of the second part's first record. */
  readonly line: number;
  /** Size of the file. */
  readonly size: number;
}

/**
 * The first line start at or after the middle of the file that is outside quotes: after a line feed
 * with an even number of `"` before it (in RFC 4180 every quote opens, closes, or is one of a doubled
 * pair, so the parity says whether a byte is inside a quoted field). A file whose first half is not
 * valid CSV fails in the first part anyway. Undefined when the file is smaller than `minBytes` or
 * there is no such line start.
 */
export async function findSplit(path: string, minBytes: number): Promise<SplitPoint | undefined> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    return undefined; // the scan reports it
  }
  if (size < minBytes) return undefined;
  const middle = Math.floor(size / 2);
  let line = 1;
  let quotes = 0;
  let offset = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    const buf = chunk as Buffer;
    const before = Math.min(buf.length, Math.max(0, middle - offset));
    if (before > 0) {
      const head = before === buf.length ? buf : buf.subarray(0, before);
      line += countByte(head, 10);
      quotes += countByte(head, 34);
    }
    for (let i = before; i < buf.length; i++) {
      const b = buf[i];
      if (b === 34) quotes++;
      else if (b === 10) {
        line++;
        if ((quotes & 1) === 0) {
          const at = offset + i + 1;
          return at < size ? { offset: at, line, size } : undefined;
        }
      }
    }
    offset += buf.length;
  }
  return undefined;
}

function countByte(buf: Buffer, byte: number): number {
  let n = 0;
  let at = buf.indexOf(byte);
  while (at !== -1) {
    n++;
    at = buf.indexOf(byte, at + 1);
  }
  return n;
}
