/**
 * A cgsync failures file is a valid input (see the README's "CSV format"): the input's columns plus
 * {@link FAILURE_COLUMNS}. Its writer (src/sync/failures-file.ts) and the reader share these rules.
 */

/** The columns a failures file adds to its input's. */
export const FAILURE_COLUMNS = ['error_code', 'error_message', 'line'] as const;

/** Whether a header is a failures file's: it has `error_code` and `error_message` (trimmed, any case). */
export function isFailuresHeader(cells: readonly string[]): boolean {
  const names = cells.map((cell) => cell.trim().toLowerCase());
  return names.includes('error_code') && names.includes('error_message');
}

/**
 * First characters that a spreadsheet may run as a formula (or that hide one). The writer puts a `'`
 * before a cell that starts with one; reading a failures file, the reader removes exactly that `'`.
 */
export const FORMULA_FIRST: ReadonlySet<string> = new Set(['=', '+', '-', '@', '\t', '\r']);
