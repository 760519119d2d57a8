import { createReadStream } from 'node:fs';
import { CsvError, parse } from 'csv-parse';
import { isSyncError, SyncError } from '../../errors.js';
import { InputGuard, InputProblem } from './input-guard.js';

/** Longest row accepted, in characters: far above any sane row, low enough to stop a runaway quote early. */
const MAX_RECORD_SIZE = 128_000;

/** What {@link parseCsvFile} learnt about the raw bytes. */
export interface CsvFileFacts {
  readonly bytes: number;
  /** sha256 of the raw bytes, hex. */
  readonly digest: string;
}

/**
 * The thin stream adapter of the reader: file → byte guard (UTF-8, NUL, sha256) → csv-parse → `onRecord`,
 * one record (array of cells) at a time, in file order. `onRecord` may return a promise to apply
 * backpressure (the parser waits for it).
 *
 * csv-parse runs with arrays (no `columns`, no `info`: `info` costs much of its throughput; lines are counted by
 * the caller from the cells), `bom: true`, strict RFC 4180 quoting, LF and CRLF record delimiters (mixed
 * endings are fine), and `relax_column_count` so rows of the wrong width reach the row rules with their
 * cells instead of failing the file.
 *
 * Problems of the file as a whole (not UTF-8, broken quoting, a row over `max_record_size`) become
 * `SyncError('INVALID_INPUT')` with the physical line, found by counting LFs up to the byte offset
 * (only on this error path).
 */
export function parseCsvFile(
  path: string,
  onRecord: (record: string[]) => void | Promise<void>,
  signal?: AbortSignal,
  range?: CsvRange,
): Promise<CsvFileFacts> {
  const start = range?.start ?? 0;
  // Event mode rather than `for await`: faster on csv-parse's many small records.
  return new Promise<CsvFileFacts>((resolve, reject) => {
    const guard = new InputGuard();
    const parser = parse({
      bom: start === 0,
      relax_column_count: true,
      record_delimiter: ['\r\n', '\n'],
      max_record_size: MAX_RECORD_SIZE,
    });
    const source = createReadStream(path, {
      highWaterMark: 64 * 1024,
      ...(range === undefined ? {} : { start, end: range.end - 1 }),
    });
    let settled = false;
    /** Records that arrived while `onRecord` was busy (pause() only stops the next chunk). */
    const backlog: string[][] = [];
    let busy = false;

    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      source.destroy();
      parser.destroy();
      describeFailure(error, path, signal, start).then(reject, reject);
    };
    const onAbort = (): void => fail(signal?.reason);
    const finish = (): void => {
      if (settled || busy) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      let bytes: number;
      try {
        bytes = guard.bytes;
        guard.check();
      } catch (error) {
        settled = false;
        fail(error);
        return;
      }
      // The digest is of the whole file, also when only a range was parsed (the rest is hashed only).
      const rest = range?.digestToEnd === true ? hashRest(path, range.end, guard) : Promise.resolve();
      rest.then(
        () => resolve({ bytes, digest: guard.digest() }),
        (error: unknown) => {
          settled = false;
          fail(error);
        },
      );
    };
    let ended = false;
    const drainBacklog = (): void => {
      try {
        while (backlog.length > 0) {
          const pending = onRecord(backlog.shift()!);
          if (pending !== undefined) {
            pending.then(drainBacklog, fail);
            return;
          }
        }
        busy = false;
        if (ended) finish();
        else parser.resume();
      } catch (error) {
        fail(error);
      }
    };

    if (signal?.aborted === true) {
      fail(signal.reason);
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    source.on('data', (chunk) => {
      try {
        guard.inspect(chunk as Buffer);
      } catch (error) {
        fail(error);
        return;
      }
      if (!parser.write(chunk)) {
        source.pause();
        parser.once('drain', () => source.resume());
      }
    });
    source.on('end', () => parser.end());
    source.on('error', fail);
    parser.on('error', fail);
    parser.on('data', (record: string[]) => {
      if (settled) return;
      if (busy) {
        backlog.push(record);
        return;
      }
      try {
        const pending = onRecord(record);
        if (pending !== undefined) {
          busy = true;
          parser.pause();
          pending.then(drainBacklog, fail);
        }
      } catch (error) {
        fail(error);
      }
    });
    parser.on('end', () => {
      ended = true;
      finish();
    });
  });
}

/** Part of a file to parse: bytes `[start, end)`, which must begin at a record start. */
export interface CsvRange {
  readonly start: number;
  readonly end: number;
  /** Let the digest cover the whole file: the bytes after `end` are hashed (not parsed). */
  readonly digestToEnd?: boolean;
}

async function hashRest(path: string, from: number, guard: InputGuard): Promise<void> {
  for await (const chunk of createReadStream(path, { start: from, highWaterMark: 1024 * 1024 })) {
    guard.hashOnly(chunk as Buffer);
  }
}

async function describeFailure(
  error: unknown,
  path: string,
  signal: AbortSignal | undefined,
  base = 0,
): Promise<unknown> {
  if (isSyncError(error)) return error;
  if (signal?.aborted === true) {
    return new SyncError('INTERRUPTED', `Reading ${path} was interrupted`, { path }, { cause: error });
  }
  if (error instanceof InputProblem) {
    const line = await lineAtOffset(path, base + error.offset);
    return new SyncError(
      'INVALID_INPUT',
      `Input is not UTF-8 text at line ${line} (byte ${base + error.offset}): ${error.message}; save the file as "CSV UTF-8"`,
      { line, path },
      { cause: error },
    );
  }
  if (error instanceof CsvError) {
    const offset = base + (typeof error.bytes === 'number' ? error.bytes : 0);
    const line = await lineAtOffset(path, offset);
    return new SyncError(
      'INVALID_INPUT',
      `Invalid CSV at line ${line}: ${explainCsvError(error)} (${error.code})`,
      { line, path },
      { cause: error },
    );
  }
  if (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'string' &&
    error.code.startsWith('E')
  ) {
    return new SyncError('IO', `Cannot read ${path}: ${error.message}`, { path }, { cause: error });
  }
  return error;
}

function explainCsvError(error: CsvError): string {
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field starting here is never closed';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'in the field starting here, a closing quote is followed by something other than a comma or a line end (write a quote inside a quoted field as "")';
    case 'INVALID_OPENING_QUOTE':
      return 'a quote inside an unquoted field (quote the whole field and double the inner quotes)';
    case 'CSV_MAX_RECORD_SIZE':
      return `a row longer than ${MAX_RECORD_SIZE} characters (an unclosed quote, or not a CSV file?)`;
    default:
      return error.message;
  }
}

/** 1-based line of a byte offset: one plus the LFs before it. */
export async function lineAtOffset(path: string, offset: number): Promise<number> {
  let line = 1;
  if (offset <= 0) return line;
  for await (const chunk of createReadStream(path, { end: offset - 1 })) {
    const buf = chunk as Buffer;
    let at = buf.indexOf(10);
    while (at !== -1) {
      line++;
      at = buf.indexOf(10, at + 1);
    }
  }
  return line;
}
