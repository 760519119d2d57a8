/**
 * Public types of the CSV reader: rejections, options and summaries.
 */

/**
 * Stable codes of the row rules. A row breaks at most one (the first checked, in this order).
 *
 * - `COLUMN_COUNT`: the row has more or fewer cells than the header.
 * - `USER_EMPTY`: From_Account (or `user`) is empty.
 * - `GROUP_EMPTY`: GroupName (or `group`) is empty.
 * - `GROUP_TOO_LONG`: GroupName is longer than 64 UTF-8 bytes (or `groupNameMaxBytes`).
 * - `TYPE_INVALID`: Type is not `1`, `2`, `c2c` or `group`.
 * - `TYPE_MISSING`: Type is empty but a conversation (To_Account, ToGroupId or peer) is given.
 * - `PEER_MISSING`: Type 1 without To_Account, Type 2 without ToGroupId, or a Type without `peer`.
 * - `PEER_CONFLICT`: Type 1 with a ToGroupId, or Type 2 with a To_Account.
 */
export type RejectionRule =
  | 'COLUMN_COUNT'
  | 'USER_EMPTY'
  | 'GROUP_EMPTY'
  | 'GROUP_TOO_LONG'
  | 'TYPE_INVALID'
  | 'TYPE_MISSING'
  | 'PEER_MISSING'
  | 'PEER_CONFLICT';

/** One rejected row. The run goes on without it. */
export interface Rejection {
  /** 1-based physical line where the row starts in the file (quoted newlines counted). */
  readonly line: number;
  readonly rule: RejectionRule;
  /** Names the line, the column and the problem, e.g. `line 42: GroupName is 68 bytes, the limit is 64`. */
  readonly message: string;
  /** The offending cell (trimmed), when one cell is to blame. */
  readonly value?: string;
  /** The user the row belongs to (trimmed From_Account), when the row has one. */
  readonly user?: string;
  /** The row's original cells, untrimmed, as parsed (for the failures file). */
  readonly record: readonly string[];
  /** The header's original cells, untrimmed. */
  readonly header: readonly string[];
}

/** Which header the file uses. */
export type HeaderForm = 'canonical' | 'short';

/** Options of {@link scanInput}. */
export interface ReaderOptions {
  /** Throw `SyncError('INVALID_ROW')` at the first rejected row (after `onRejected` saw it). @default false */
  readonly strict?: boolean;
  /** Throw `SyncError('INVALID_INPUT')` as soon as more than this many rows are rejected. @default Infinity */
  readonly maxInvalid?: number;
  /**
   * Longest GroupName in UTF-8 bytes; longer rows are rejected (`GROUP_TOO_LONG`). 32 takes the update
   * page's reading (OldGroupName up to 32 bytes) up front. From 1 to 64.
   * @default 64
   */
  readonly groupNameMaxBytes?: number;
  /** Called once per rejected row, in file order, during the scan; the reader keeps none of them. */
  readonly onRejected?: (rejection: Rejection) => void;
  /** Where the `cgsync-*` working directory goes. @default os.tmpdir() */
  readonly tmpDir?: string;
  /**
   * Target input bytes per partition when the file is not grouped by user. A partition is loaded whole
   * in the second pass, so this bounds memory (roughly 10× this in heap); smaller partitions also
   * read faster (better cache locality). At most 4096 partitions: past 8 GiB of input they grow.
   * @default 2 MiB
   */
  readonly partitionBytes?: number;
  /** Aborts the scan with `SyncError('INTERRUPTED')`. */
  readonly signal?: AbortSignal;
  /**
   * While the rows are still grouped by user, called with each finished stretch of the staged rows
   * (about `segmentBytes`, ending where a user ends; the last one when the scan ends), so their users
   * can be worked on during the scan. Speculative: if the file turns out not grouped, the stretches
   * already reported are void (their file is removed) and the users come from partitions instead
   * (`ScanSummary.sortedByUser` false). Bytes `[start, end)` of `path`, in working-file format.
   * A returned promise holds the scan back until it settles (backpressure).
   */
  readonly onSegment?: (segment: StagedSegment) => void | Promise<void>;
  /** Called once, when the rows turn out not grouped by user (the segments reported so far are void). */
  readonly onUngrouped?: () => void;
  /** Target size of the stretches given to `onSegment`. @default 2 MiB */
  readonly segmentBytes?: number;
  /** Scan only a part of the file (see {@link ScanPart}); the summary then has `part`. */
  readonly part?: ScanPart;
}

/**
 * For reading one file in parts on several threads (the parts' results are combined by the caller):
 * which part of the file this scan reads, and what it holds back for its neighbours.
 */
export interface ScanPart {
  /** Bytes `[start, end)`; `start` must be a record start (outside quotes, after a line feed). */
  readonly start: number;
  readonly end: number;
  /** The header, when the part starts after it. */
  readonly header?: string[];
  /** Line of the part's first record. @default 1 */
  readonly firstLine?: number;
  /** Let `inputDigest` cover the whole file (the bytes after `end` are hashed, not parsed). */
  readonly digestToEnd?: boolean;
  /** Partitions to use if the rows are not grouped (all parts of a file must use the same). */
  readonly partitions: number;
  /** Keep the part's first user out of `onSegment` (it may begin in the previous part). */
  readonly holdFirstUser?: boolean;
  /** Keep the part's last user out of `onSegment` (it may go on in the next part). */
  readonly holdLastUser?: boolean;
  /** Called with the header record as soon as it was read. */
  readonly onHeader?: (header: readonly string[]) => void;
}

/** What a part's scan learnt, for combining parts (`ScanSummary.part`). */
export interface ScanPartFacts {
  /** Users in ascending order, each one's rows contiguous. */
  readonly sorted: boolean;
  readonly firstUser?: string;
  readonly lastUser?: string;
  /** When grouped: the staged rows held back (`[start, end)` of the spill; empty when none). */
  readonly head?: StagedSegment;
  readonly tail?: StagedSegment;
}

/** A stretch of staged rows: whole users, in working-file format (see row-codec.ts). */
export interface StagedSegment {
  readonly path: string;
  readonly start: number;
  readonly end: number;
}

/** What the first pass learnt about the file. */
export interface ScanSummary {
  /** Data rows (valid + rejected); the header and blank rows are not counted. */
  readonly rows: number;
  readonly validRows: number;
  readonly rejectedRows: number;
  /** Rows whose cells are all empty or blank (e.g. trailing `,,,,` from a spreadsheet): skipped. */
  readonly blankRows: number;
  /** Size of the file in bytes. */
  readonly bytes: number;
  /** sha256 (hex) of the file's raw bytes. */
  readonly inputDigest: string;
  /**
   * True when every user's rows are contiguous (grouped, not necessarily sorted): users stream in
   * file order. False when the rows were hash-partitioned: users come partition by partition.
   */
  readonly sortedByUser: boolean;
  readonly headerForm: HeaderForm;
  /** The header's original cells. */
  readonly header: readonly string[];
  /** True when the header carries `error_code` and `error_message`: a cgsync failures file (see README). */
  readonly failuresFile: boolean;
  /** Number of partitions written (0 when grouped). */
  readonly partitions: number;
  /** Set when only a part of the file was scanned (`scanInput`'s `part`). */
  readonly part?: ScanPartFacts;
}

/** The summary once every user has been read. */
export interface ReaderSummary extends ScanSummary {
  /** Distinct users emitted (a user whose rows were all rejected still counts, with no groups). */
  readonly users: number;
}
