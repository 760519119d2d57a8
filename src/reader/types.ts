import type { StagedSegment } from './stage/staged.js';

/**
 * Public types of the CSV reader: rejections, options, scan events and summaries.
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
  /**
   * Stage every row straight into its partition, whatever the order of the file: no grouped check
   * (and none of its memory, 16 bytes per finished user up to 16 MiB) and no spill to redistribute
   * later. For a caller that reads the users partition by partition anyway (`users({ order:
   * 'canonical' })`). The summary then says `grouped: false` and counts no users (`eachUser` does).
   * @default false
   */
  readonly partitioned?: boolean;
  /** Aborts the scan with `SyncError('INTERRUPTED')`. */
  readonly signal?: AbortSignal;
  /**
   * Told what the scan finds as it goes (see {@link ScanEvent}): for callers that work on the staged
   * rows during the scan, e.g. on other threads. A returned promise holds the scan back until it
   * settles (backpressure).
   */
  readonly onEvent?: (event: ScanEvent) => void | Promise<void>;
  /** Target size of the stretches told as `segment` events. @default 2 MiB */
  readonly segmentBytes?: number;
  /** Scan only a part of the file (see {@link ScanPart}); the summary then has `part`. */
  readonly part?: ScanPart;
}

/**
 * What a scan tells `onEvent`, in this order:
 * - `header`: the header record was read (its original cells);
 * - `segment`, while the rows are grouped by user: a finished stretch of the staged rows, about
 *   `segmentBytes`, ending where a user ends (the last one when the scan ends), so its users can be
 *   worked on during the scan ({@link stagedUsers} of its {@link segmentsUnit});
 * - `ungrouped`: the rows turned out not grouped by user. The segments told so far are void (their
 *   file is removed) and the users come from partitions instead (`ScanSummary.grouped` false).
 */
export type ScanEvent =
  | { readonly type: 'header'; readonly header: readonly string[] }
  | { readonly type: 'segment'; readonly segment: StagedSegment }
  | { readonly type: 'ungrouped' };

/**
 * For reading one file in parts at once (on several threads; the caller combines the parts'
 * results): bytes `[start, end)`, where `start` is a record start (outside quotes, after a line feed).
 * A part that starts after the file's start holds its first user back from the segments (the user
 * may begin in the part before), one that ends before the file's end its last user (it may go on in
 * the next); the summary's `part` says who they are and where their rows are.
 */
export interface ScanPart {
  readonly start: number;
  readonly end: number;
  /** The header, required when the part starts after it. */
  readonly header?: readonly string[];
  /** Line of the part's first record. @default 1 */
  readonly firstLine?: number;
  /** Partitions to use if the rows are not grouped: the same for every part of a file. */
  readonly partitions: number;
}

/** What a part's scan learnt, for combining parts (`ScanSummary.part`). */
export interface ScanPartFacts {
  /** Users in ascending order, each one's rows contiguous. */
  readonly sorted: boolean;
  readonly firstUser?: string;
  readonly lastUser?: string;
  /** When grouped: the staged rows of the users held back (empty segments when none). */
  readonly head?: StagedSegment;
  readonly tail?: StagedSegment;
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
  /**
   * sha256 (hex) of the file's raw bytes. A part's scan that starts at the file's start hashes the
   * whole file (the bytes after the part are hashed, not parsed); a later part's, only its bytes.
   */
  readonly inputDigest: string;
  /**
   * True when every user's rows are contiguous (grouped, not necessarily sorted): users stream in
   * file order. False when the rows were hash-partitioned: users come partition by partition, each
   * partition's in user-ID order.
   */
  readonly grouped: boolean;
  readonly headerForm: HeaderForm;
  /** The header's original cells. */
  readonly header: readonly string[];
  /** True when the header carries `error_code` and `error_message`: a cgsync failures file (see README). */
  readonly failuresFile: boolean;
  /** Number of partitions written (0 when grouped). */
  readonly partitions: number;
  /**
   * Distinct users, counted during the scan when the rows are grouped (a user whose rows were all
   * rejected included); absent when they were partitioned (known only once every user was read). A
   * part's scan counts the users that begin in it (its first may go on from the part before).
   */
  readonly usersCounted?: number;
  /** Set when only a part of the file was scanned (`scanInput`'s `part`). */
  readonly part?: ScanPartFacts;
}

/** The summary once every user has been read. */
export interface ReaderSummary extends ScanSummary {
  /** Distinct users emitted (a user whose rows were all rejected still counts, with no groups). */
  readonly users: number;
}
