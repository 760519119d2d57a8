import { rm } from 'node:fs/promises';
import type { DesiredUser } from '../../model.js';
import { partitioned } from '../stage/partitions.js';
import { type RowsData, type StagedUnit, unitData } from '../stage/staged.js';
import { readPieces } from '../stage/work-files.js';
import type { ReaderSummary, ScanSummary } from '../types.js';
import { GroupedDecoder, partitionUsers } from './decode.js';
import type { UserOrder } from './user-order.js';

/** The users of a scanned file, one at a time. Single use. */
export interface UserStream extends AsyncIterableIterator<DesiredUser> {
  /** Set once every user has been read. */
  readonly summary: ReaderSummary | undefined;
}

/** Byte ranges of working files whose lines are grouped by user (`end` undefined: to the end). */
interface Range {
  readonly path: string;
  readonly start?: number;
  readonly end?: number;
}

/** Users of grouped lines, in order, a piece at a time (a user may go on from one range into the next). */
async function* groupedUsers(ranges: readonly Range[]): AsyncGenerator<DesiredUser> {
  const decoder = new GroupedDecoder();
  for (const range of ranges) {
    for await (const piece of readPieces(range.path, range)) yield* decoder.push(piece);
  }
  const last = decoder.end();
  if (last !== undefined) yield last;
}

/**
 * Users of one partition (its files of every part of a file), in user-ID order. The files are read
 * whole, one text each (measured: lower peak RSS than pieces here), and removed once read.
 */
async function* partitionFileUsers(
  paths: readonly string[],
  order: UserOrder = 'id',
): AsyncGenerator<DesiredUser> {
  const texts: string[] = [];
  for (const path of paths) {
    for await (const text of readPieces(path, { pieceBytes: Number.POSITIVE_INFINITY })) texts.push(text);
    await rm(path, { force: true });
  }
  yield* partitionUsers(texts, order);
}

/**
 * The users of a unit of staged rows, through the one decoder (./decode.ts): a unit of segments in
 * file order, a partition in user-ID order (its files are removed once read).
 */
export function stagedUsers(unit: StagedUnit): AsyncGenerator<DesiredUser> {
  const data = unitData(unit);
  return data.kind === 'segments' ? groupedUsers(data.segments) : partitionFileUsers(data.paths);
}

/**
 * The second pass over a whole scan. Grouped rows: the spill (rows in file order) is read once and a
 * user is emitted as soon as the next user starts, so memory is O(largest user). Partitioned rows:
 * one partition is loaded at a time, its users built and emitted in user-ID order, then the partition
 * is deleted. With `order` 'canonical' (./user-order.ts), grouped rows are partitioned first and each
 * partition's users come in the canonical order, so the whole stream is in it. The working directory
 * is removed when the iteration ends, however it ends.
 */
export function streamUsers(
  rows: RowsData,
  scan: ScanSummary,
  remove: () => Promise<void>,
  order: UserOrder = 'id',
): UserStream {
  let summary: ReaderSummary | undefined;
  async function* generate(): AsyncGenerator<DesiredUser> {
    let users = 0;
    try {
      const partitions = order === 'canonical' ? await partitioned(rows) : rows.partitions;
      // Each source made only when its turn comes, and not kept: a finished generator still holds
      // its registers, so an array of them held every partition's arrays to the end (measured: +37 MB
      // from 50k to 200k users in 2 to 3 partitions).
      const sources: (() => AsyncGenerator<DesiredUser>)[] =
        partitions === undefined
          ? rows.spill === undefined
            ? []
            : [() => groupedUsers([{ path: rows.spill as string }])]
          : partitions.map((partition) => () => partitionFileUsers([partition.path], order));
      for (const source of sources) {
        for await (const user of source()) {
          users++;
          yield user;
        }
      }
      summary = { ...scan, users };
    } finally {
      await remove();
    }
  }
  const iterator = generate();
  Object.defineProperty(iterator, 'summary', { get: () => summary, enumerable: true });
  return iterator as AsyncGenerator<DesiredUser> & { readonly summary: ReaderSummary | undefined };
}
