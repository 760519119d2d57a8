import { type FileHandle, open } from 'node:fs/promises';
import { SyncError } from '../errors.js';
import { readLines } from './line-file.js';
import { ShapeError } from './narrow.js';
import type { PlanHeader } from './plan-file-format.js';
import { narrowHeader, narrowSummaryLine, narrowUserPlan } from './plan-file-narrow.js';
import type { PlanSummary } from './summary.js';
import type { UserPlan } from './types.js';

/** A plan file opened for `apply`: header and summary read up front, users streamed. */
export interface PlanFile {
  readonly path: string;
  readonly header: PlanHeader;
  readonly summary: PlanSummary;
  /**
   * The user plans in file order (ascending user ID), each line validated. Every iteration reads the
   * file again; breaking out of the loop closes it. Throws `SyncError('CHECKPOINT')` naming the line.
   */
  readonly users: AsyncIterable<UserPlan>;
}

const CHUNK = 1 << 16;

/**
 * Opens a plan file: reads and validates its header (first line) and summary (last line). Missing,
 * unreadable → `SyncError('IO')`; not a plan, another version, truncated, bad line → `SyncError('CHECKPOINT')`
 * with the line number.
 */
export async function readPlanFile(path: string): Promise<PlanFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new SyncError(
      'IO',
      `cannot read plan file ${path}: ${(err as Error).message}`,
      { path },
      { cause: err },
    );
  }
  let headerText: string;
  let summaryText: string;
  try {
    const size = (await handle.stat()).size;
    headerText = await readHead(handle, size, path);
    summaryText = await readTail(handle, size, path);
  } finally {
    await handle.close();
  }
  const header = parseLine(headerText, 1, path, narrowHeader);
  const summary = parseLine(summaryText, 'last', path, (v) => {
    if (typeof v !== 'object' || v === null || !('summary' in v)) {
      throw new ShapeError('', 'expected the summary line: the plan file is incomplete (truncated?)');
    }
    return narrowSummaryLine(v);
  });
  return { path, header, summary, users: { [Symbol.asyncIterator]: () => readUsers(path, summary) } };
}

async function* readUsers(path: string, summary: PlanSummary): AsyncGenerator<UserPlan> {
  let n = 0;
  let previous: string | undefined;
  let users = 0;
  let summaryLine = 0;
  for await (const text of readLines(path)) {
    n += 1;
    if (n === 1) continue;
    if (summaryLine > 0) throw planError(path, n, 'a line after the summary line');
    const value = parseLine(text, n, path, (v) => v);
    if (typeof value === 'object' && value !== null && 'summary' in value && !('user' in value)) {
      summaryLine = n;
      continue;
    }
    const plan = narrowAt(value, n, path, narrowUserPlan);
    if (previous !== undefined && !(previous < plan.user)) {
      throw planError(
        path,
        n,
        `user ${plan.user} comes after ${previous}: users must be unique, in ascending order`,
      );
    }
    previous = plan.user;
    users += 1;
    yield plan;
  }
  if (summaryLine === 0)
    throw planError(path, n, 'no summary line: the plan file is incomplete (truncated?)');
  if (users !== summary.users) {
    throw planError(path, summaryLine, `the file holds ${users} users but its summary says ${summary.users}`);
  }
}

function parseLine<T>(text: string, line: number | 'last', path: string, narrow: (v: unknown) => T): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw planError(path, line, `not valid JSON (${(err as Error).message})`);
  }
  return narrowAt(value, line, path, narrow);
}

function narrowAt<T>(value: unknown, line: number | 'last', path: string, narrow: (v: unknown) => T): T {
  try {
    return narrow(value);
  } catch (err) {
    if (err instanceof ShapeError) throw planError(path, line, err.message);
    throw err;
  }
}

function planError(path: string, line: number | 'last', problem: string): SyncError {
  const where = line === 'last' ? 'last line' : `line ${line}`;
  return new SyncError('CHECKPOINT', `plan file ${path} ${where}: ${problem}`, {
    path,
    ...(line === 'last' ? {} : { line }),
  });
}

/** The first line, without its `\n`. */
async function readHead(handle: FileHandle, size: number, path: string): Promise<string> {
  const parts: Buffer[] = [];
  for (let pos = 0; pos < size; pos += CHUNK) {
    const buf = Buffer.alloc(Math.min(CHUNK, size - pos));
    const { bytesRead } = await handle.read(buf, 0, buf.length, pos);
    const nl = buf.subarray(0, bytesRead).indexOf(0x0a);
    if (nl >= 0) {
      parts.push(buf.subarray(0, nl));
      return Buffer.concat(parts).toString('utf8');
    }
    parts.push(buf.subarray(0, bytesRead));
  }
  throw planError(path, 1, size === 0 ? 'the file is empty' : 'the header line is not complete (truncated?)');
}

/** The last line, without its `\n`; the file must end with `\n`. */
async function readTail(handle: FileHandle, size: number, path: string): Promise<string> {
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  if (last[0] !== 0x0a)
    throw planError(path, 'last', 'the line is not complete: the plan file was truncated');
  const parts: Buffer[] = [];
  let end = size - 1;
  while (end > 0) {
    const start = Math.max(0, end - CHUNK);
    const buf = Buffer.alloc(end - start);
    await handle.read(buf, 0, buf.length, start);
    const nl = buf.lastIndexOf(0x0a);
    if (nl >= 0) {
      parts.unshift(buf.subarray(nl + 1));
      return Buffer.concat(parts).toString('utf8');
    }
    parts.unshift(buf);
    end = start;
  }
  throw planError(path, 'last', 'no summary line: the plan file is incomplete (truncated?)');
}
