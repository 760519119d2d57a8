import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hash32 } from './order-tracker.js';
import { encodedUser } from './row-codec.js';
import {
  type PartitionFile,
  type RowsData,
  rowsData,
  type StagedRows,
  type StagedUnit,
  sealUnit,
} from './staged.js';
import { LineWriter, readPieces } from './work-files.js';

/**
 * Partition routing: rows of ungrouped input go to N partition files by a hash of their user, so
 * all of a user's rows are in one partition, and one partition at a time can be loaded whole.
 */

/** Default target input bytes per partition. */
export const DEFAULT_PARTITION_BYTES = 2 * 1024 * 1024;
const MAX_PARTITIONS = 4096;
/** Total buffer budget of the partition writers of one file (outside the JS heap). */
const PARTITION_BUFFER_BUDGET = 16 * 1024 * 1024;

/** Partitions for a file of `size` bytes: about `partitionBytes` of input each, 1 to 4096. */
export function partitionCount(size: number, partitionBytes = DEFAULT_PARTITION_BYTES): number {
  return Math.min(MAX_PARTITIONS, Math.max(1, Math.ceil(size / partitionBytes)));
}

/**
 * The partition of a user's lines, from the escaped user (the lines' first field): the scan routes a
 * row by its user and {@link redistribute} a staged line by its first field, so both agree. Ranges of
 * the hash, so that reading the partitions in index order follows the canonical order of users
 * (../users/user-order.ts) whatever their count.
 */
export function partitionOf(escapedUser: string, count: number): number {
  return partitionOfHash(hash32(escapedUser), count);
}

/** The partition (of `count`) holding the hash `hash`: ranges of the hash, so partition order follows it. */
export function partitionOfHash(hash: number, count: number): number {
  return Math.floor((hash * count) / 0x1_0000_0000);
}

/**
 * The partition files of `dir` (`part-<i>.tsv`), the writers sharing `share` of the buffer budget;
 * a writer's buffer is at most an eighth of a partition (`partitionBytes`), so small partitions
 * (the `--state` join's) do not buffer more than they hold.
 */
export function partitionWriters(
  dir: string,
  count: number,
  share = 1,
  partitionBytes = DEFAULT_PARTITION_BYTES,
): LineWriter[] {
  const flushAt = Math.max(
    16 * 1024,
    Math.min(
      256 * 1024,
      Math.floor(partitionBytes / 8),
      Math.floor((PARTITION_BUFFER_BUDGET * share) / count),
    ),
  );
  return Array.from({ length: count }, (_, i) => new LineWriter(join(dir, `part-${i}.tsv`), flushAt));
}

/** The partitions written so far that hold rows. */
export function writtenPartitions(writers: readonly LineWriter[]): PartitionFile[] {
  const files: PartitionFile[] = [];
  writers.forEach((writer, index) => {
    if (writer.bytes > 0) files.push({ index, path: writer.path });
  });
  return files;
}

/** Routes a spill's lines to `partitions` by the hash of their user, then removes the spill. */
export async function redistribute(spillPath: string, partitions: readonly LineWriter[]): Promise<void> {
  for await (const piece of readPieces(spillPath, { encoding: 'utf8', pieceBytes: 256 * 1024 })) {
    let start = 0;
    while (start < piece.length) {
      const end = piece.indexOf('\n', start) + 1;
      const line = piece.slice(start, end);
      const pending = partitions[partitionOf(encodedUser(line), partitions.length)]!.write(line);
      if (pending !== undefined) await pending;
      start = end;
    }
  }
  await rm(spillPath, { force: true });
}

/** The rows partitioned: grouped rows have their spill redistributed first (into their directory). */
export async function partitioned(rows: RowsData): Promise<readonly PartitionFile[]> {
  if (rows.partitions !== undefined) return rows.partitions;
  if (rows.spill === undefined) return [];
  const writers = partitionWriters(rows.dir, rows.partitionCount, 1, rows.partitionBytes);
  await redistribute(rows.spill, writers);
  for (const writer of writers) await writer.flush();
  return writtenPartitions(writers);
}

/**
 * The partitions of the staged rows of one or more scans of the same file (the parts of a file read
 * at once, all with the same partition count) as units: the partition of each index, across the
 * scans, holds the same users. Grouped rows are partitioned first. In partition order.
 */
export async function partitionUnits(scans: readonly StagedRows[]): Promise<StagedUnit[]> {
  const byIndex = new Map<number, string[]>();
  const counts = new Set<number>();
  for (const rows of scans.map(rowsData)) {
    counts.add(rows.partitionCount);
    for (const file of await partitioned(rows)) {
      const paths = byIndex.get(file.index);
      if (paths === undefined) byIndex.set(file.index, [file.path]);
      else paths.push(file.path);
    }
  }
  if (counts.size > 1) throw new Error(`partitionUnits: scans with ${[...counts].join(' and ')} partitions`);
  return [...byIndex.keys()]
    .sort((a, b) => a - b)
    .map((index) => sealUnit({ kind: 'partition', paths: byIndex.get(index)! }));
}
