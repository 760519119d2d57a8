/**
 * Handles on staged rows (see row-codec.ts for their format), for callers that read them their own
 * way, e.g. on several threads (src/parallel/). Outside the reader they are opaque: where the rows
 * are, and what the working files are called, stays the reader's business. They are plain data, so
 * they can be posted to another thread.
 */

declare const staged: unique symbol;

/** Where one scan left its rows ({@link InputScan.takeStaged}). */
export interface StagedRows {
  readonly [staged]: 'rows';
}

/** A stretch of a scan's staged rows that holds whole users, in file order. */
export interface StagedSegment {
  readonly [staged]: 'segment';
}

/**
 * Staged rows of whole users that can be turned into users on their own, on any thread, in any
 * order relative to other units: segments of grouped rows (a user may go on from one segment into
 * the next), or one partition of ungrouped rows (the same partition of every part of a file).
 */
export interface StagedUnit {
  readonly [staged]: 'unit';
}

/** @internal What a {@link StagedRows} is. */
export interface RowsData {
  /** The scan's working directory. */
  readonly dir: string;
  /** How many partitions the rows go into when they are (or must be) partitioned. */
  readonly partitionCount: number;
  /** The input bytes a partition is sized for (its writers' buffers follow it). */
  readonly partitionBytes?: number;
  /** Grouped rows: the spill file, undefined when there are no rows. */
  readonly spill?: string;
  /** Partitioned rows: the partition files that hold rows. Undefined when grouped. */
  readonly partitions?: readonly PartitionFile[];
}

/** @internal A partition file and the hash bucket it holds. */
export interface PartitionFile {
  readonly index: number;
  readonly path: string;
}

/** @internal What a {@link StagedSegment} is: bytes `[start, end)` of a spill. */
export interface SegmentData {
  readonly path: string;
  readonly start: number;
  readonly end: number;
}

/** @internal What a {@link StagedUnit} is. */
export type UnitData =
  | { readonly kind: 'segments'; readonly segments: readonly SegmentData[] }
  | { readonly kind: 'partition'; readonly paths: readonly string[] };

/** @internal */
export const rowsData = (rows: StagedRows): RowsData => rows as unknown as RowsData;
/** @internal */
export const sealRows = (data: RowsData): StagedRows => data as unknown as StagedRows;
/** @internal */
export const segmentData = (segment: StagedSegment): SegmentData => segment as unknown as SegmentData;
/** @internal */
export const sealSegment = (data: SegmentData): StagedSegment => data as unknown as StagedSegment;
/** @internal */
export const unitData = (unit: StagedUnit): UnitData => unit as unknown as UnitData;
/** @internal */
export const sealUnit = (data: UnitData): StagedUnit => data as unknown as StagedUnit;

/**
 * The unit of segments of grouped rows (in file order), leaving out empty ones; undefined when they
 * are all empty.
 */
export function segmentsUnit(segments: readonly StagedSegment[]): StagedUnit | undefined {
  const kept = segments.map(segmentData).filter((s) => s.end > s.start);
  return kept.length === 0 ? undefined : sealUnit({ kind: 'segments', segments: kept });
}
