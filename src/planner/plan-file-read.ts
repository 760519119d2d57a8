import { createHash, type Hash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { SyncError } from '../errors.js';
import { ShapeError } from './narrow.js';
import { ContentDigest, PLAN_FILE_START, type PlanHeader } from './plan-file-format.js';
import { narrowDigestLine, narrowHeader, narrowSummaryLine, narrowUserPlan } from './plan-file-narrow.js';
import type { PlanSummary } from './summary.js';
import type { UserPlan } from './types.js';

/** A plan file opened for `apply`: header, summary and digest read up front, users streamed. */
export interface PlanFile {
  readonly path: string;
  readonly header: PlanHeader;
  readonly summary: PlanSummary;
  /**
   * Reads the whole file once, before anything is done with it: the digest of every byte, the structure
   * of every line, every operation against the documented limits, users unique and in order, their
   * count and content digest against the summary and header. Memory stays bounded (one line at a time).
   * Throws `SyncError('CHECKPOINT')` naming the line; `IO` when the file cannot be read or changed;
   * the reason of `signal` when it aborts first.
   */
  validate(signal?: AbortSignal): Promise<void>;
  /**
   * The user plans in file order (ascending user ID), each line validated. Every iteration reads the
   * file again; breaking out of the loop closes it. Throws `SyncError('CHECKPOINT')` naming the line.
   */
  readonly users: AsyncIterable<UserPlan>;
}

const CHUNK = 1 << 16;

/**
 * Whether `path` is a plan file rather than a CSV, from its first bytes. False when it cannot be
 * read: the reader of the input says why, with its own message.
 */
export async function isPlanFile(path: string): Promise<boolean> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const start = Buffer.alloc(Buffer.byteLength(PLAN_FILE_START));
    const { bytesRead } = await handle.read(start, 0, start.length, 0);
    return start.toString('utf8', 0, bytesRead) === PLAN_FILE_START;
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}

/**
 * Opens a plan file: reads and checks its header (first line), summary (second to last) and digest
 * (last). Missing, unreadable → `SyncError('IO')`; not a plan, another version, truncated, bad line →
 * `SyncError('CHECKPOINT')` with the line number. Call `validate()` before acting on it.
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
  let tail: { lines: string[]; start: number };
  let opened: Stats;
  try {
    opened = await handle.stat();
    headerText = await readHead(handle, opened.size, path);
    tail = await readTail(handle, opened.size, path, 2);
  } finally {
    await handle.close();
  }
  const header = parseLine(headerText, 1, path, narrowHeader);
  const digest = parseLine(tail.lines[1] ?? '', 'last', path, narrowDigestLine);
  const summary = parseLine(tail.lines[0] ?? '', 'before last', path, (v) => {
    if (typeof v !== 'object' || v === null || !('summary' in v)) {
      throw new ShapeError('', 'expected the summary line: the plan file is incomplete (truncated?)');
    }
    return narrowSummaryLine(v);
  });
  const file = { path, header, summary, digest, digestStart: tail.start, opened };
  return {
    path,
    header,
    summary,
    validate: (signal?: AbortSignal) => validatePlan(file, signal),
    users: { [Symbol.asyncIterator]: () => readUsers(file) },
  };
}

interface OpenedPlan {
  readonly path: string;
  readonly header: PlanHeader;
  readonly summary: PlanSummary;
  readonly digest: string;
  /** Byte offset of the digest line. */
  readonly digestStart: number;
  readonly opened: Stats;
}

/** Refuses a file replaced or changed since it was opened (between validating and applying). */
async function checkUnchanged(plan: OpenedPlan): Promise<void> {
  let now: Stats;
  try {
    now = await stat(plan.path);
  } catch (err) {
    throw new SyncError('IO', `cannot read plan file ${plan.path}: ${(err as Error).message}`, {
      path: plan.path,
    });
  }
  const was = plan.opened;
  if (now.ino !== was.ino || now.dev !== was.dev || now.size !== was.size || now.mtimeMs !== was.mtimeMs) {
    throw new SyncError('CHECKPOINT', `plan file ${plan.path} changed while it was being used`, {
      path: plan.path,
    });
  }
}

async function validatePlan(plan: OpenedPlan, signal?: AbortSignal): Promise<void> {
  await checkUnchanged(plan);
  const hash = createHash('sha256');
  const content = new ContentDigest();
  let n = 0;
  const users = new UserOrder(plan);
  for await (const text of rawLines(plan.path, plan.digestStart, hash)) {
    n += 1;
    if ((n & 1023) === 0) signal?.throwIfAborted();
    if (n === 1) continue; // the header, read when the file was opened (and hashed now)
    if (users.summaryLine > 0) {
      if (n === users.summaryLine + 1) continue; // the digest line, read when the file was opened
      throw planError(plan.path, n, 'a line after the digest line');
    }
    const user = users.next(text, n);
    if (user !== undefined) content.add(user.desiredDigest);
  }
  users.end(n);
  if (hash.digest('hex') !== plan.digest) {
    throw planError(
      plan.path,
      'last',
      'the digest does not match the file: it was edited or damaged after cgsync wrote it; make the plan again',
    );
  }
  if (content.digest() !== plan.header.inputDigest) {
    throw planError(plan.path, 1, "inputDigest does not match the users' desired digests (edited plan?)");
  }
}

/** Checks user lines one by one: each valid, users unique and ascending, then the summary line. */
class UserOrder {
  readonly #plan: OpenedPlan;
  #previous: string | undefined;
  #count = 0;
  summaryLine = 0;

  constructor(plan: OpenedPlan) {
    this.#plan = plan;
  }

  /** The user of line `n`, or undefined for the summary line. */
  next(text: string, n: number): UserPlan | undefined {
    const path = this.#plan.path;
    const value = parseLine(text, n, path, (v) => v);
    if (typeof value === 'object' && value !== null && 'summary' in value && !('user' in value)) {
      this.summaryLine = n;
      return undefined;
    }
    const plan = narrowAt(value, n, path, (v) => narrowUserPlan(v, this.#plan.header.mode));
    if (this.#previous !== undefined && !(this.#previous < plan.user)) {
      throw planError(
        path,
        n,
        `user ${plan.user} comes after ${this.#previous}: users must be unique, in ascending order`,
      );
    }
    this.#previous = plan.user;
    this.#count += 1;
    return plan;
  }

  end(lines: number): void {
    const path = this.#plan.path;
    if (this.summaryLine === 0)
      throw planError(path, lines, 'no summary line: the plan file is incomplete (truncated?)');
    if (this.summaryLine !== lines - 1) throw planError(path, lines, 'no digest line after the summary');
    if (this.#count !== this.#plan.summary.users) {
      throw planError(
        path,
        this.summaryLine,
        `the file holds ${this.#count} users but its summary says ${this.#plan.summary.users}`,
      );
    }
  }
}

async function* readUsers(plan: OpenedPlan): AsyncGenerator<UserPlan> {
  await checkUnchanged(plan);
  let n = 0;
  const users = new UserOrder(plan);
  for await (const text of rawLines(plan.path)) {
    n += 1;
    if (n === 1) continue;
    if (users.summaryLine > 0) {
      if (n === users.summaryLine + 1) continue;
      throw planError(plan.path, n, 'a line after the digest line');
    }
    const user = users.next(text, n);
    if (user !== undefined) yield user;
  }
  users.end(n);
}

/**
 * The lines of a file (without `\n`), read in chunks of bytes; with `hash`, every byte before
 * `hashUntil` goes into it on the way. Breaking out of the loop closes the file.
 */
async function* rawLines(path: string, hashUntil = 0, hash?: Hash): AsyncGenerator<string> {
  const stream = createReadStream(path, { highWaterMark: CHUNK });
  let offset = 0;
  let carry: Buffer[] = [];
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const hashed = Math.min(chunk.length, hashUntil - offset);
      if (hash !== undefined && hashed > 0) hash.update(chunk.subarray(0, hashed));
      let start = 0;
      let nl = chunk.indexOf(0x0a, start);
      while (nl !== -1) {
        const piece = chunk.subarray(start, nl);
        const line = carry.length > 0 ? Buffer.concat([...carry, piece]) : piece;
        carry = [];
        yield line.toString('utf8');
        start = nl + 1;
        nl = chunk.indexOf(0x0a, start);
      }
      if (start < chunk.length) carry.push(chunk.subarray(start));
      offset += chunk.length;
    }
  } catch (err) {
    if (err instanceof SyncError) throw err;
    throw new SyncError('IO', `cannot read plan file ${path}: ${(err as Error).message}`, { path });
  } finally {
    stream.destroy();
  }
  if (carry.length > 0) yield Buffer.concat(carry).toString('utf8');
}

type Where = number | 'last' | 'before last';

function parseLine<T>(text: string, line: Where, path: string, narrow: (v: unknown) => T): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw planError(path, line, `not valid JSON (${(err as Error).message})`);
  }
  return narrowAt(value, line, path, narrow);
}

function narrowAt<T>(value: unknown, line: Where, path: string, narrow: (v: unknown) => T): T {
  try {
    return narrow(value);
  } catch (err) {
    if (err instanceof ShapeError) throw planError(path, line, err.message);
    throw err;
  }
}

function planError(path: string, line: Where, problem: string): SyncError {
  const where = typeof line === 'number' ? `line ${line}` : `${line} line`;
  return new SyncError('CHECKPOINT', `plan file ${path} ${where}: ${problem}`, {
    path,
    ...(typeof line === 'number' ? { line } : {}),
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

/**
 * The last `count` lines (without their `\n`), first to last, and the byte offset where the last one
 * starts; the file must end with `\n`.
 */
async function readTail(
  handle: FileHandle,
  size: number,
  path: string,
  count: number,
): Promise<{ lines: string[]; start: number }> {
  const last = Buffer.alloc(1);
  if (size > 0) await handle.read(last, 0, 1, size - 1);
  if (size === 0 || last[0] !== 0x0a)
    throw planError(path, 'last', 'the line is not complete: the plan file was truncated');
  const lines: string[] = [];
  let lastStart = 0;
  let parts: Buffer[] = [];
  let end = size - 1;
  while (end > 0 && lines.length < count) {
    const start = Math.max(0, end - CHUNK);
    const buf = Buffer.alloc(end - start);
    await handle.read(buf, 0, buf.length, start);
    let cut = buf.length;
    let nl = buf.lastIndexOf(0x0a, cut - 1);
    while (nl >= 0 && lines.length < count) {
      parts.unshift(buf.subarray(nl + 1, cut));
      lines.unshift(Buffer.concat(parts).toString('utf8'));
      if (lines.length === 1) lastStart = start + nl + 1;
      parts = [];
      cut = nl;
      nl = cut > 0 ? buf.lastIndexOf(0x0a, cut - 1) : -1;
    }
    if (lines.length < count) parts.unshift(buf.subarray(0, cut));
    end = start;
  }
  if (lines.length < count) {
    throw planError(path, 'last', 'no summary and digest lines: the plan file is incomplete (truncated?)');
  }
  return { lines, start: lastStart };
}
