import { createReadStream, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  type InputScan,
  partitionCount,
  partitionUnits,
  type ReaderOptions,
  type Rejection,
  type ScanEvent,
  type ScanPart,
  type ScanSummary,
  type StagedRows,
  type StagedSegment,
  type StagedUnit,
  scanInput,
} from '../reader/index.js';
import { ThreadPool } from '../thread-pool.js';
import { workerFile } from '../threads.js';
import { createWorkDir, removeWorkDir } from '../work-dir.js';
import type { SplitPoint } from './split.js';

/** What a scan's grouped rows are handed to while the file is read. */
export interface SegmentSink {
  /** Segments of whole users (in file order); resolves when there is room for more (backpressure). */
  add(segments: readonly StagedSegment[]): Promise<void>;
  /** The rows turned out not grouped: the segments added so far are void. */
  drop(): void;
}

/** The reader options a scan on threads passes on. */
export type ScanReaderOptions = Pick<
  ReaderOptions,
  'strict' | 'maxInvalid' | 'groupNameMaxBytes' | 'onRejected' | 'signal' | 'segmentBytes'
>;

/** A scanned file: its summary, and either `units` to plan or (undefined) the segments already given. */
export interface Scanned {
  readonly summary: ScanSummary;
  /** Undefined: grouped, every user was in a segment given to the sink. */
  readonly units: readonly StagedUnit[] | undefined;
  /** 1, or 2 when the file was read in two parts at once. */
  readonly parts: 1 | 2;
  readonly dispose: () => Promise<void>;
}

/** The second part's scan, on the scan thread (scan-worker.ts). */
export interface PartJob {
  readonly path: string;
  readonly part: ScanPart;
  /** Where its working files go: a directory the parent removes. */
  readonly tmpDir: string;
  /** NDJSON file the part's rejected rows go to, in file order. */
  readonly rejections: string;
  readonly segmentBytes?: number;
}

/** What the scan thread tells while it scans (the parent answers once it has room). */
export type PartEvent = Exclude<ScanEvent, { type: 'header' }>;

export interface PartResult {
  readonly summary: ScanSummary;
  readonly staged: StagedRows;
}

/** The scan events for a sink: segments added at once, the sink dropped when ungrouped. */
function toSink(sink: SegmentSink) {
  return (event: ScanEvent): Promise<void> | undefined => {
    if (event.type === 'ungrouped') sink.drop();
    // Waiting for room holds the reader back when the threads fall behind: bounded memory.
    else if (event.type === 'segment') return sink.add([event.segment]);
    return undefined;
  };
}

/** Reads the file in one part on this thread; segments go to `sink` while the rows are grouped. */
export async function scanWhole(
  path: string,
  reader: ScanReaderOptions,
  sink: SegmentSink,
): Promise<Scanned> {
  const scan = await scanInput(path, { ...reader, onEvent: toSink(sink) });
  const staged = scan.takeStaged();
  return {
    summary: scan.summary,
    units: scan.summary.grouped ? undefined : await partitionUnits([staged]),
    parts: 1,
    dispose: () => scan.dispose(),
  };
}

/**
 * Reads the file as two parts at once: the first on this thread, the second on a scan thread
 * (scan-worker.ts) that starts once the header is known. Each part stages its rows as one scan would
 * (its own spill, or partitions by the same hash and count), holding back the user at the seam (the
 * first part's last, the second part's first). The second part's rejected rows are reported after
 * the first part's, so they come in file order.
 *
 * Combined: when both parts are sorted by user and the seam is in order, the file is grouped: the
 * parts' segments went to the sink as they came, and the users at the seam make one more (one user
 * if it is the same on both sides). Otherwise the parts' partitions (a grouped part's spill is
 * partitioned first) are units, pairwise: partition i of both parts holds the same users.
 */
export async function scanInTwo(
  path: string,
  split: SplitPoint,
  reader: ScanReaderOptions,
  sink: SegmentSink,
): Promise<Scanned> {
  const count = partitionCount(split.size);
  const dir = await createWorkDir(tmpdir());
  const rejections = join(dir, 'rejections.ndjson');
  const thread = new ThreadPool<PartJob, PartResult, PartEvent, void>({
    name: 'scan thread',
    threads: 1,
    entry: workerFile(import.meta.url, 'scan-worker'),
    // A small young generation, as for the planning threads: short-lived garbage, lower peak memory.
    resourceLimits: { maxYoungGenerationSizeMb: 8 },
  });
  let second: Promise<PartResult> | undefined;
  let first: InputScan | undefined;
  const onEvent = toSink(sink);
  try {
    first = await scanInput(path, {
      ...reader,
      part: { start: 0, end: split.offset, partitions: count },
      onEvent: (event) => {
        if (event.type !== 'header') return onEvent(event);
        const part = { start: split.offset, end: split.size, header: event.header, firstLine: split.line };
        second = thread.run(
          {
            path,
            part: { ...part, partitions: count },
            tmpDir: dir,
            rejections,
            ...(reader.segmentBytes === undefined ? {} : { segmentBytes: reader.segmentBytes }),
          },
          { onEvent },
        );
        // Looked at only when the first part succeeded.
        second.catch(() => undefined);
        return undefined;
      },
    });
    if (second === undefined) throw new Error('scanInTwo: the header was not seen');
    const b = await second;
    await thread.close();
    if (existsSync(rejections)) {
      for await (const text of createInterface({
        input: createReadStream(rejections),
        crlfDelay: Infinity,
      })) {
        reader.onRejected?.(JSON.parse(text) as Rejection);
      }
    }
    const a = first.summary;
    const aStaged = first.takeStaged();
    const aPart = a.part!;
    const bPart = b.summary.part!;
    const grouped =
      a.grouped &&
      b.summary.grouped &&
      aPart.sorted &&
      bPart.sorted &&
      (aPart.lastUser === undefined || bPart.firstUser === undefined || aPart.lastUser <= bPart.firstUser);
    let units: StagedUnit[] | undefined;
    if (grouped) await sink.add([aPart.tail, bPart.head].filter((s) => s !== undefined));
    else {
      sink.drop();
      units = await partitionUnits([aStaged, b.staged]);
    }
    const scanned = first;
    return {
      summary: {
        rows: a.rows + b.summary.rows,
        validRows: a.validRows + b.summary.validRows,
        rejectedRows: a.rejectedRows + b.summary.rejectedRows,
        blankRows: a.blankRows + b.summary.blankRows,
        bytes: split.size,
        inputDigest: a.inputDigest,
        grouped,
        headerForm: a.headerForm,
        header: a.header,
        failuresFile: a.failuresFile,
        partitions: grouped ? 0 : count,
        ...(grouped && a.usersCounted !== undefined && b.summary.usersCounted !== undefined
          ? {
              // A user across the seam began in both parts.
              usersCounted:
                a.usersCounted +
                b.summary.usersCounted -
                (aPart.lastUser !== undefined && aPart.lastUser === bPart.firstUser ? 1 : 0),
            }
          : {}),
      },
      units,
      parts: 2,
      dispose: async () => {
        await scanned.dispose();
        await removeWorkDir(dir);
      },
    };
  } catch (error) {
    // The first part's error is thrown before the second part's is looked at: file order.
    await thread.close();
    await first?.dispose();
    await removeWorkDir(dir);
    // The first part failed before its header (e.g. the header comes after the middle, or there is
    // none): read the file in one part, which fails the same way or finds the header.
    if (second === undefined && reader.signal?.aborted !== true) return scanWhole(path, reader, sink);
    throw error;
  }
}
