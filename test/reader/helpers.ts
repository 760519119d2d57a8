import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DesiredUser } from '../../src/model.js';
import { type ReadUsersOptions, readUsers } from '../../src/reader/read-users.js';
import { scanInput } from '../../src/reader/scan-input.js';
import type { ReaderOptions, ReaderSummary, Rejection } from '../../src/reader/types.js';

/** A scratch directory for one test file; call `cleanup` in afterAll. */
export function scratchDir(): {
  dir: string;
  file: (name: string, content: string | Buffer) => string;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'cgsync-test-reader-'));
  let n = 0;
  return {
    dir,
    file: (name, content) => {
      const path = join(dir, `${n++}-${name}`);
      writeFileSync(path, content);
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface ReadResult {
  readonly users: DesiredUser[];
  readonly rejections: Rejection[];
  readonly summary: ReaderSummary;
}

/** Scans and reads a file completely. */
export async function readAll(path: string, options: ReaderOptions = {}): Promise<ReadResult> {
  const rejections: Rejection[] = [];
  const scan = await scanInput(path, {
    ...options,
    onRejected: (r) => {
      rejections.push(r);
      options.onRejected?.(r);
    },
  });
  const users: DesiredUser[] = [];
  const stream = scan.users();
  for await (const user of stream) users.push(user);
  if (stream.summary === undefined) throw new Error('summary missing after a complete read');
  return { users, rejections, summary: stream.summary };
}

/** Same through the path form of readUsers. */
export async function readAllByPath(path: string, options: ReadUsersOptions = {}): Promise<DesiredUser[]> {
  const users: DesiredUser[] = [];
  for await (const user of readUsers(path, options)) users.push(user);
  return users;
}

/** A user as plain data (lineOf turned into sorted entries) for deep equality. */
export function plainUser(user: DesiredUser): unknown {
  return {
    user: user.user,
    groups: user.groups.map((g) => ({ name: g.name, conversations: g.conversations.map((c) => ({ ...c })) })),
    lines: [...user.lines],
    hasRejectedRows: user.hasRejectedRows,
    lineOf:
      user.lineOf === undefined ? undefined : [...user.lineOf.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
  };
}

/** Users sorted by ID, as plain data. */
export function plainUsers(users: readonly DesiredUser[]): unknown[] {
  return [...users].sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0)).map(plainUser);
}

/** RFC 4180 quoting of one cell. */
export function csvCell(value: string): string {
  return /[",\r\n]/.test(value) || value !== value.trim() ? `"${value.replaceAll('"', '""')}"` : value;
}

export function csvLine(cells: readonly string[]): string {
  return cells.map(csvCell).join(',');
}
