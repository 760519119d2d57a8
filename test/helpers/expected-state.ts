import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';

/**
 * The test oracle: what the app holds after a CSV was applied, as { user: { group: sorted
 * conversation keys } }, computed from the documented rules alone (README "CSV format",
 * PRODUCT.md "Input CSV") with csv-parse, importing nothing from src/. End-to-end tests compare the
 * emulator's state with it, so they prove "the app matches the CSV", not "the app matches what our
 * reader read".
 */
export type AppState = Record<string, Record<string, string[]>>;

/** What the oracle read: every user's groups (before the user rules) and the rows it left out. */
export interface ExpectedRows {
  /** user → group → conversation keys (`1:peer`, `2:@TGS#…`). */
  readonly users: Map<string, Map<string, Set<string>>>;
  /** Rows rejected by a row rule. */
  readonly rejected: number;
  /** Rows whose cells are all blank (skipped, not rejected). */
  readonly blank: number;
}

const CANONICAL = ['from_account', 'groupname', 'type', 'to_account', 'togroupid'] as const;
const ALIASES = ['user', 'group', 'type', 'peer'] as const;
/** The failures-file escape of a cell a spreadsheet would run: `'` before = + - @ TAB CR. */
const ESCAPED = /^'[=+\-@\t\r]/;

/** Reads `path` by the documented row rules. Whole-file problems throw (csv-parse's own errors). */
export function expectedRows(path: string): ExpectedRows {
  const records = parse(readFileSync(path), {
    bom: true,
    relax_column_count: true,
    skip_empty_lines: false,
  }) as string[][];
  const isBlank = (cells: readonly string[]) => cells.every((c) => c.trim() === '');
  const headerAt = records.findIndex((r) => !isBlank(r));
  if (headerAt < 0) throw new Error(`${path}: no header row`);
  const names = (records[headerAt] as string[]).map((n) => n.trim().toLowerCase());
  const canonical = ['from_account', 'groupname', 'to_account', 'togroupid'].some((n) => names.includes(n));
  const required = canonical ? CANONICAL : ALIASES;
  const index = new Map<string, number>(required.map((n) => [n, names.indexOf(n)]));
  const missing = required.filter((n) => names.indexOf(n) < 0 || names.lastIndexOf(n) !== names.indexOf(n));
  if (missing.length > 0) throw new Error(`${path}: header lacks or repeats ${missing.join(', ')}`);
  const failuresFile = names.includes('error_code') && names.includes('error_message');
  const cell = (row: readonly string[], name: string) => {
    const raw = row[index.get(name) as number] as string;
    return (failuresFile && ESCAPED.test(raw) ? raw.slice(1) : raw).trim();
  };

  const users = new Map<string, Map<string, Set<string>>>();
  let rejected = 0;
  let blank = headerAt; // blank rows before the header count too
  for (const row of records.slice(headerAt + 1)) {
    if (isBlank(row)) {
      blank++;
      continue;
    }
    const member = row.length === names.length ? readRow(row, canonical, cell) : 'rejected';
    if (member === 'rejected') {
      rejected++;
      continue;
    }
    const groups = users.get(member.user) ?? new Map<string, Set<string>>();
    users.set(member.user, groups);
    const conversations = groups.get(member.group) ?? new Set<string>();
    groups.set(member.group, conversations);
    if (member.conversation !== undefined) conversations.add(member.conversation);
  }
  return { users, rejected, blank };
}

/** One row → its membership (no conversation: an empty group), or 'rejected' by a row rule. */
function readRow(
  row: readonly string[],
  canonical: boolean,
  cell: (row: readonly string[], name: string) => string,
): { user: string; group: string; conversation?: string } | 'rejected' {
  const user = cell(row, canonical ? 'from_account' : 'user');
  const group = cell(row, canonical ? 'groupname' : 'group');
  if (user === '' || group === '' || Buffer.byteLength(group, 'utf8') > 64) return 'rejected';
  const type = cell(row, 'type').toLowerCase();
  const account = canonical ? cell(row, 'to_account') : '';
  const groupId = canonical ? cell(row, 'togroupid') : '';
  const peer = canonical ? '' : cell(row, 'peer');
  if (type === '') return account === '' && groupId === '' && peer === '' ? { user, group } : 'rejected';
  if (type === '1' || type === 'c2c') {
    const id = canonical ? account : peer;
    return id === '' || groupId !== '' ? 'rejected' : { user, group, conversation: `1:${id}` };
  }
  if (type === '2' || type === 'group') {
    const id = canonical ? groupId : peer;
    return id === '' || account !== '' ? 'rejected' : { user, group, conversation: `2:${id}` };
  }
  return 'rejected';
}

/** Users that break a user rule: more than 20 groups, or more than 1000 distinct conversations. */
export function overLimits(groups: ReadonlyMap<string, ReadonlySet<string>>): boolean {
  const distinct = new Set<string>();
  for (const conversations of groups.values()) for (const c of conversations) distinct.add(c);
  return groups.size > 20 || distinct.size > 1000;
}

/**
 * The app's state after applying `path` to an empty app (any mode), or mirroring it for the users it
 * names that have no rejected row: every valid row's membership; users over a limit left out entirely.
 */
export function expectedState(path: string): AppState {
  const out: AppState = {};
  for (const [user, groups] of expectedRows(path).users) {
    if (groups.size === 0 || overLimits(groups)) continue;
    const state: Record<string, string[]> = {};
    for (const [name, conversations] of groups) state[name] = [...conversations].sort();
    out[user] = state;
  }
  return out;
}
