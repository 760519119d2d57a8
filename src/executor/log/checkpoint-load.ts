import { createReadStream } from 'node:fs';
import { SyncError } from '../../errors.js';
import {
  type CheckpointHeader,
  type CheckpointRecord,
  headerVersion,
  parseHeader,
  parseRecord,
} from './checkpoint-records.js';

/** The state a checkpoint file holds. */
export interface LoadedCheckpoint {
  readonly header: CheckpointHeader | undefined;
  readonly done: ReadonlySet<string>;
  readonly begun: ReadonlyMap<string, ReadonlySet<string>>;
  /** Bytes up to the end of the last complete, valid line (a torn tail is cut off before appending). */
  readonly validBytes: number;
  readonly totalBytes: number;
}

const NEWLINE = 0x0a;

/**
 * Reads a checkpoint file line by line with bounded memory. A last line without `\n` or that does not
 * parse (a write cut short by a kill) is ignored; a bad line anywhere else is an error naming the line.
 */
export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  let header: CheckpointHeader | undefined;
  const done = new Set<string>();
  const begun = new Map<string, Set<string>>();
  let lineNo = 0;
  let offset = 0;
  let validBytes = 0;
  let pendingError: SyncError | undefined;
  let carry: Buffer = Buffer.alloc(0);

  const handleLine = (bytes: Buffer, end: number) => {
    lineNo++;
    if (pendingError !== undefined) throw pendingError; // a bad line followed by another one
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      value = undefined;
    }
    if (lineNo === 1) {
      header = parseHeader(value);
      if (header === undefined) {
        const version = headerVersion(value);
        pendingError = new SyncError(
          'CHECKPOINT',
          version === undefined
            ? `checkpoint ${path} is not a cgsync checkpoint (line 1 is not its header)`
            : `checkpoint ${path} has format version ${String(version)}; this cgsync reads version 1`,
          { path, line: 1 },
        );
        return;
      }
      validBytes = end;
      return;
    }
    const record = parseRecord(value);
    if (record === undefined) {
      pendingError = new SyncError(
        'CHECKPOINT',
        `checkpoint ${path} is damaged: line ${lineNo} is not a valid record`,
        {
          path,
          line: lineNo,
        },
      );
      return;
    }
    applyRecord(record, done, begun);
    validBytes = end;
  };

  const stream = createReadStream(path);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      let nl = chunk.indexOf(NEWLINE, start);
      while (nl !== -1) {
        const piece = chunk.subarray(start, nl);
        const line = carry.length > 0 ? Buffer.concat([carry, piece]) : piece;
        carry = Buffer.alloc(0);
        handleLine(line, offset + nl + 1);
        start = nl + 1;
        nl = chunk.indexOf(NEWLINE, start);
      }
      if (start < chunk.length) carry = Buffer.concat([carry, chunk.subarray(start)]);
      offset += chunk.length;
    }
  } catch (err) {
    if (err instanceof SyncError) throw err;
    throw ioError(`cannot read checkpoint ${path}`, path, err);
  }
  if (pendingError !== undefined) {
    // A bad last complete line is a write cut short, but a bad header or a bad line followed by more
    // bytes is damage.
    if (lineNo === 1 || carry.length > 0) throw pendingError;
  }
  if (header === undefined) {
    if (carry.length > 0 && !carry.toString('utf8').startsWith('{"type":"header"')) {
      throw new SyncError(
        'CHECKPOINT',
        `checkpoint ${path} is not a cgsync checkpoint (line 1 is not its header)`,
        {
          path,
          line: 1,
        },
      );
    }
    validBytes = 0; // empty, or only a torn header: start afresh
  }
  return { header, done, begun, validBytes, totalBytes: offset };
}

function applyRecord(record: CheckpointRecord, done: Set<string>, begun: Map<string, Set<string>>): void {
  switch (record.type) {
    case 'begin':
      done.delete(record.user);
      if (!begun.has(record.user)) begun.set(record.user, new Set());
      break;
    case 'op': {
      let ok = begun.get(record.user);
      if (ok === undefined) {
        ok = new Set();
        begun.set(record.user, ok);
      }
      if (record.outcome === 'ok') ok.add(record.id);
      else ok.delete(record.id);
      break;
    }
    case 'user':
      if (record.outcome === 'done') {
        done.add(record.user);
        begun.delete(record.user);
      } else if (record.outcome === 'skipped') {
        begun.delete(record.user);
      }
      break;
  }
}

/** A SyncError of code IO naming the file and the system error code. */
export function ioError(what: string, path: string, cause: unknown): SyncError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const detail = code ?? (cause instanceof Error ? cause.message : String(cause));
  return new SyncError('IO', `${what}: ${detail}`, { path }, { cause });
}
