import { createWriteStream, type WriteStream } from 'node:fs';
import { commitTemp, createTemp, discardTemp } from '../atomic-file.js';
import { SyncError } from '../errors.js';
import type { FailedItem } from '../executor/apply-user.js';
import {
  CANONICAL_HEADER,
  FAILURE_COLUMNS,
  FORMULA_FIRST,
  isFailuresHeader,
  type Rejection,
} from '../reader/index.js';

/**
 * Escapes a cell so that spreadsheets show it as text: a cell starting with `=`, `+`, `-`, `@`, TAB or
 * CR gets a leading `'`. The reader removes exactly that `'` again when the file is a failures file
 * (its header has `error_code` and `error_message`), so a failures file is a faithful input.
 * (A value that itself starts with `'` followed by one of those characters is the one case that does
 * not survive the round trip: it loses its `'`.)
 */
export function escapeFormula(value: string): string {
  return value.length > 0 && FORMULA_FIRST.has(value.charAt(0)) ? `'${value}` : value;
}

/** RFC 4180 quoting: a cell with a comma, quote, CR or LF is quoted, its quotes doubled. */
export function quoteCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * One line (without its line break) of the canonical header's five columns, for a conversation key
 * (`1:bob`) or an empty group (`key` absent); quoted, not formula-escaped (the reader keeps a leading
 * `'` of a file without failure columns): what `export` and `--backup` write.
 */
export function canonicalRow(user: string, group: string, key: string | undefined): string {
  const type = key === undefined ? '' : key.charAt(0);
  const id = key === undefined ? '' : key.slice(2);
  const cells = [user, group, type, type === '1' ? id : '', type === '2' ? id : ''];
  return cells.map(quoteCell).join(',');
}

/** One CSV line (CRLF-terminated) of escaped, quoted cells. */
export function formatRow(cells: readonly string[]): string {
  return `${cells.map((c) => quoteCell(escapeFormula(c))).join(',')}\r\n`;
}

/** A row the reader rejected, as it reports it. */
export interface RejectedRow {
  readonly line: number;
  readonly rule: string;
  readonly message: string;
  /** The row's original cells. */
  readonly record: readonly string[];
}

const isFailureColumn = (name: string) =>
  (FAILURE_COLUMNS as readonly string[]).includes(name.trim().toLowerCase());

/**
 * The columns kept from the input header: all of them, except the failure columns of an input that is
 * itself a failures file (they are written afresh).
 */
export function keptColumns(header: readonly string[]): number[] {
  const failuresInput = isFailuresHeader(header);
  return header.map((_, i) => i).filter((i) => !(failuresInput && isFailureColumn(header[i] as string)));
}

/** The cells of a failed membership under `header` (unknown columns empty). */
export function itemCells(header: readonly string[], item: FailedItem): string[] {
  const c = item.conversation;
  return header.map((name) => {
    switch (name.trim().toLowerCase()) {
      case 'from_account':
      case 'user':
        return item.user;
      case 'groupname':
      case 'group':
        return item.group;
      case 'type':
        return c === undefined ? '' : String(c.type);
      case 'to_account':
        return c?.type === 1 ? c.id : '';
      case 'togroupid':
        return c?.type === 2 ? c.id : '';
      case 'peer':
        return c?.id ?? '';
      default:
        return '';
    }
  });
}

/**
 * Writes `--failures`: the input's columns plus `error_code,error_message,line`, one row per rejected
 * row and per membership (or empty group) that could not be added. Failed removals and deletions are
 * not written: as input rows they would add back what the run meant to remove; they are in the run's
 * result and log. The file is itself a valid cgsync input.
 *
 * The rows go to a temporary file beside `path` (mode 0600), moved over `path` by `close()`: until
 * then, and if the process dies first, a previous file at `path` is left as it was.
 */
export class FailuresWriter {
  readonly path: string;
  /** The temporary file and the stream into it; undefined when it could not be created. */
  readonly #out: { tmp: string; stream: WriteStream } | undefined;
  readonly #header: readonly string[];
  readonly #kept: readonly number[];
  #error: unknown;
  #rows = 0;

  private constructor(
    path: string,
    created: { readonly tmp: string } | { readonly error: unknown },
    header: readonly string[],
  ) {
    this.path = path;
    this.#header = header;
    this.#kept = keptColumns(header);
    if ('error' in created) {
      this.#error = created.error;
      return;
    }
    const stream = createWriteStream(created.tmp, { flags: 'r+' });
    this.#out = { tmp: created.tmp, stream };
    stream.on('error', (err) => {
      this.#error ??= err;
    });
    stream.write(formatRow([...this.#kept.map((i) => header[i] as string), ...FAILURE_COLUMNS]));
  }

  /**
   * Creates the file (under its temporary name). `header` is the input's header; the canonical one for
   * a plan file. A file that cannot be created is reported by {@link close}, as a failed write is.
   */
  static create(path: string, header: readonly string[] = CANONICAL_HEADER): FailuresWriter {
    let created: { tmp: string } | { error: unknown };
    try {
      created = { tmp: createTemp(path) };
    } catch (error) {
      created = { error };
    }
    return new FailuresWriter(path, created, header);
  }

  /** Rows written so far, the header excepted. */
  get rows(): number {
    return this.#rows;
  }

  writeRejected(row: RejectedRow): void {
    const cells = this.#kept.map((i) => row.record[i] ?? '');
    this.#write([...cells, row.rule, row.message, String(row.line)]);
  }

  /** Writes an `add` or `create` failure; ignores `remove` and `delete` (see the class comment). */
  writeFailed(item: FailedItem): void {
    if (item.action === 'remove' || item.action === 'delete') return;
    const all = itemCells(this.#header, item);
    const cells = this.#kept.map((i) => all[i] ?? '');
    this.#write([
      ...cells,
      String(item.errorCode),
      item.message,
      item.line === undefined ? '' : String(item.line),
    ]);
  }

  #write(cells: readonly string[]): void {
    if (this.#error !== undefined || this.#out === undefined) return;
    this.#rows++;
    this.#out.stream.write(formatRow(cells));
  }

  /** Ends the stream into the temporary file (if there is one). */
  async #end(): Promise<void> {
    const stream = this.#out?.stream;
    if (stream === undefined) return;
    await new Promise<void>((resolve) => {
      stream.end(() => resolve());
      stream.once('error', () => resolve());
    });
  }

  /** Ends and removes the temporary file: a file already at `path` stays as it was. */
  async discard(): Promise<void> {
    await this.#end();
    if (this.#out !== undefined) await discardTemp(this.#out.tmp);
  }

  /** Ends the file and moves it into place; rejects with `SyncError('IO')` if any write failed. */
  async close(): Promise<void> {
    await this.#end();
    if (this.#out === undefined) {
      // Never created: the error is reported below.
    } else if (this.#error === undefined) {
      try {
        await commitTemp(this.#out.tmp, this.path);
      } catch (err) {
        this.#error = err;
      }
    } else {
      await discardTemp(this.#out.tmp);
    }
    if (this.#error !== undefined) {
      const code = (this.#error as NodeJS.ErrnoException).code ?? String(this.#error);
      throw new SyncError(
        'IO',
        `cannot write failures file ${this.path}: ${code}`,
        { path: this.path },
        { cause: this.#error },
      );
    }
  }
}

/**
 * The `--failures` file: opened on first need (with the input's header when known), closed once.
 * Without a path every write is dropped.
 */
export class FailuresSink {
  readonly #path: string | undefined;
  #writer: FailuresWriter | undefined;
  #closed = false;

  constructor(path: string | undefined) {
    this.#path = path;
  }

  /** Opens the file now, with `header` (the input's; the canonical one when absent). */
  open(header?: readonly string[]): void {
    if (this.#path !== undefined && this.#writer === undefined && !this.#closed) {
      this.#writer = FailuresWriter.create(this.#path, header);
    }
  }

  writeRejected(rejection: Rejection): void {
    this.open(rejection.header);
    this.#writer?.writeRejected(rejection);
  }

  writeFailed(item: FailedItem): void {
    this.open();
    this.#writer?.writeFailed(item);
  }

  /** Drops what was written (the run failed before it had a result): a previous file stays as it was. */
  async discard(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer?.discard();
  }

  /** Ends the file (once), moves it into place and returns the rows written. */
  async close(): Promise<number> {
    if (this.#closed || this.#writer === undefined) return this.#writer?.rows ?? 0;
    this.#closed = true;
    await this.#writer.close();
    return this.#writer.rows;
  }
}
