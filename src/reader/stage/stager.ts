import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Membership } from '../../model.js';
import type { ScanEvent, ScanPart, ScanPartFacts } from '../types.js';
import { OrderTracker } from './order-tracker.js';
import {
  partitionCount,
  partitionOf,
  partitionWriters,
  redistribute,
  writtenPartitions,
} from './partitions.js';
import { encodeMembership, encodeRejected, escapeValue } from './row-codec.js';
import { type RowsData, type SegmentData, type StagedSegment, sealSegment } from './staged.js';
import { LineWriter } from './work-files.js';

/** What {@link RowStager} needs to know. */
export interface StagerOptions {
  /** The scan's working directory. */
  readonly dir: string;
  /** Size of the whole file. */
  readonly size: number;
  readonly partitionBytes: number;
  readonly segmentBytes: number;
  readonly part?: ScanPart;
  readonly onEvent?: (event: ScanEvent) => void | Promise<void>;
  /** Rows go straight to their partition from the first one: no spill, no grouped check. @default false */
  readonly partitioned?: boolean;
}

/** What the rows staged came to. */
export interface Staged {
  readonly rows: RowsData;
  /** Every user's rows contiguous: the rows are in the spill, in file order. */
  readonly grouped: boolean;
  /** Partitions written (0 when grouped). */
  readonly partitions: number;
  /** Grouped: the users staged (each user's rows are contiguous, so a user is counted where it begins). */
  readonly users?: number;
  readonly part?: ScanPartFacts;
}

/**
 * Stages the rows of a scan in file order for the second pass, without holding them in memory.
 *
 * While every user's rows are contiguous ({@link OrderTracker}), rows go to one spill file in file
 * order. The first time a finished user reappears, the spill written so far is redistributed into N
 * partition files by hash of the user, and later rows go straight to their partition; N = file size
 * / `partitionBytes` (1 to 4096), so a partition is about `partitionBytes` of input whatever the file
 * size. With `onEvent`, while the rows are grouped, each stretch of about `segmentBytes` that ends
 * where a user ends is told as a `segment` event, and the switch to partitions as `ungrouped`.
 */
export class RowStager {
  readonly #options: StagerOptions;
  readonly #spill: LineWriter;
  readonly #tracker = new OrderTracker();
  #partitions: LineWriter[] | undefined;
  /** A part that starts after the file's start holds its first user back (it may begin before). */
  readonly #holdFirstUser: boolean;
  /** A part that ends before the file's end holds its last user back (it may go on after). */
  readonly #holdLastUser: boolean;
  #segmentStart = 0;
  #firstUser: string | undefined;
  #lastUser: string | undefined;
  /** Users begun so far (while grouped). */
  #users = 0;
  /** Where the last user's rows begin in the spill. */
  #lastUserStart = 0;
  /** Where the first user's rows end in the spill, once a second user began. */
  #headEnd: number | undefined;

  constructor(options: StagerOptions) {
    this.#options = options;
    this.#spill = new LineWriter(join(options.dir, 'rows.tsv'));
    this.#holdFirstUser = options.part !== undefined && options.part.start > 0;
    this.#holdLastUser = options.part !== undefined && options.part.end < options.size;
    // A caller that reads the users partition by partition anyway skips the spill and its
    // redistribution, and the grouped check's table of finished users (16 bytes per user).
    if (options.partitioned === true) this.#partitions = this.#newPartitions();
  }

  /** Stages a valid row. A returned promise must settle before the next call. */
  accept(membership: Membership): Promise<void> | undefined {
    const switching = this.#observe(membership.user);
    if (switching === undefined) return this.#stage(membership.user, encodeMembership(membership));
    return switching.then(() => this.#stage(membership.user, encodeMembership(membership)));
  }

  /** Stages the mark of a rejected row of `user`. A returned promise must settle before the next call. */
  reject(user: string, line: number): Promise<void> | undefined {
    const switching = this.#observe(user);
    if (switching === undefined) return this.#stage(user, encodeRejected(user, line));
    return switching.then(() => this.#stage(user, encodeRejected(user, line)));
  }

  /** Ends the staging: flushes the files, tells the last segment. */
  async finish(): Promise<Staged> {
    const { dir, part } = this.#options;
    const partitions = this.#partitions;
    if (partitions !== undefined) {
      for (const partition of partitions) await partition.flush();
      return {
        rows: { dir, partitionCount: partitions.length, partitions: writtenPartitions(partitions) },
        grouped: false,
        partitions: partitions.length,
        ...(part === undefined ? {} : { part: this.#facts(undefined) }),
      };
    }
    const spill = this.#spill;
    await spill.flush();
    const end = spill.bytes;
    const at = (start: number, until: number): StagedSegment =>
      sealSegment({ path: spill.path, start, end: until } satisfies SegmentData);
    let held: { head: StagedSegment; tail: StagedSegment };
    if (this.#holdFirstUser && this.#headEnd === undefined) {
      // One user in the part: all of it is the head.
      held = { head: at(0, end), tail: at(end, end) };
    } else {
      const tailStart = this.#holdLastUser ? this.#lastUserStart : end;
      await this.#endSegment(tailStart);
      held = { head: at(0, this.#holdFirstUser ? (this.#headEnd ?? 0) : 0), tail: at(tailStart, end) };
    }
    return {
      rows: {
        dir,
        partitionCount: part?.partitions ?? partitionCount(this.#options.size, this.#options.partitionBytes),
        partitionBytes: this.#options.partitionBytes,
        ...(end > 0 ? { spill: spill.path } : {}),
      },
      grouped: true,
      partitions: 0,
      users: this.#users,
      ...(part === undefined ? {} : { part: this.#facts(held) }),
    };
  }

  #facts(held: { head: StagedSegment; tail: StagedSegment } | undefined): ScanPartFacts {
    return {
      sorted: this.#tracker.sorted,
      ...(this.#firstUser === undefined ? {} : { firstUser: this.#firstUser }),
      ...(this.#lastUser === undefined ? {} : { lastUser: this.#lastUser }),
      ...(held === undefined ? {} : held),
    };
  }

  /** Stages the encoded line `text` of a row of `user` (the user as in the CSV, not escaped). */
  #stage(user: string, text: string): Promise<void> | undefined {
    const partitions = this.#partitions;
    if (partitions === undefined) return this.#spill.write(text);
    // Hashing the user at hand rather than slicing it out of `text` again.
    return partitions[partitionOf(escapeValue(user), partitions.length)]!.write(text);
  }

  #newPartitions(): LineWriter[] {
    const { dir, part, size, partitionBytes } = this.#options;
    const count = part?.partitions ?? partitionCount(size, partitionBytes);
    // Parts of one file scanned at once share the budget.
    return partitionWriters(dir, count, part === undefined ? 1 : 0.5, partitionBytes);
  }

  async #startPartitioning(): Promise<void> {
    await this.#options.onEvent?.({ type: 'ungrouped' });
    const partitions = this.#newPartitions();
    this.#partitions = partitions;
    const spill = this.#spill;
    await spill.flush();
    if (spill.bytes > 0) await redistribute(spill.path, partitions);
    else await rm(spill.path, { force: true });
  }

  async #endSegment(end?: number): Promise<void> {
    const spill = this.#spill;
    await spill.flush();
    const until = end ?? spill.bytes;
    if (until > this.#segmentStart) {
      const segment = sealSegment({ path: spill.path, start: this.#segmentStart, end: until });
      this.#segmentStart = until;
      await this.#options.onEvent?.({ type: 'segment', segment });
    }
  }

  #observe(user: string): Promise<void> | undefined {
    const tracker = this.#tracker;
    if (!tracker.grouped || this.#options.partitioned === true) return undefined;
    tracker.observe(user);
    if (!tracker.grouped) return this.#startPartitioning();
    if (user === this.#lastUser) return undefined;
    this.#users++;
    // A new user starts here: the staged rows so far are whole users.
    const spill = this.#spill;
    this.#lastUserStart = spill.position;
    if (this.#lastUser === undefined) this.#firstUser = user;
    else if (this.#headEnd === undefined) {
      this.#headEnd = this.#lastUserStart;
      if (this.#holdFirstUser) this.#segmentStart = this.#headEnd;
    }
    this.#lastUser = user;
    if (
      this.#options.onEvent !== undefined &&
      spill.position - this.#segmentStart >= this.#options.segmentBytes
    ) {
      return this.#endSegment();
    }
    return undefined;
  }
}
