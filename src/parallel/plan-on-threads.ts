import { createReadStream, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SyncError } from '../errors.js';
import type { Mode } from '../model.js';
import type { PlanFileWriter } from '../planner/plan-file.js';
import type { Shard } from '../planner/shard.js';
import { SummaryBuilder } from '../planner/summary.js';
import {
  type InputScan,
  partitionCount,
  partitionUnits,
  type ReaderOptions,
  type Rejection,
  type ScanEvent,
  type ScanSummary,
  type StagedSegment,
  scanInput,
  segmentsUnit,
} from '../reader/index.js';
import { createWorkDir, removeWorkDir } from '../work-dir.js';
import { defaultPlanThreads, PlanPool } from './plan-pool.js';
import type { PlanUnit, PlanUnitResult } from './plan-units.js';
import {
  DEFAULT_SPLIT_MIN_BYTES,
  findSplit,
  SCAN_WORKER_FILE,
  ScanWorker,
  type SplitPoint,
} from './scan-parts.js';

export interface PlanOnThreadsOptions {
  readonly input: string;
  readonly mode: Mode;
  readonly rate?: number;
  readonly shard?: Shard;
  /**
   * Planning threads. From 2 up, one of them is this thread, which plans once the file is read (the
   * others are workers, planning during the scan too). @default one per core, at most 4 (see {@link PlanPool})
   */
  readonly threads?: number;
  /** strict, maxInvalid, groupNameMaxBytes, onRejected, signal. */
  readonly reader: Pick<
    ReaderOptions,
    'strict' | 'maxInvalid' | 'groupNameMaxBytes' | 'onRejected' | 'signal'
  >;
  /** Receives the users' totals. */
  readonly builder: SummaryBuilder;
  /** A new plan file writer, when a plan file is written. */
  readonly newWriter?: () => PlanFileWriter;
  /**
   * Files from this size up are read as two parts at once (with 2 threads or more, without `strict`
   * or `maxInvalid`, which want the rows one after another, and without `groupNameMaxBytes`, which
   * the second part's scan does not take). @default 8 MiB
   */
  readonly splitMinBytes?: number;
  /** @internal Size of the stretches of staged rows planned during the scan. @default 2 MiB */
  readonly segmentBytes?: number;
}

/**
 * Plans every user of a CSV without reading the service (assume-empty), on worker threads:
 *
 * - while the rows are grouped by user, each stretch of staged rows the reader reports
 *   (`onSegment`) is planned at once, while the rest of the file is still being read;
 * - if the rows turn out not grouped, that speculative work is dropped (its summary part and plan
 *   writer are thrown away), and once the file was read its partitions are planned instead;
 * - a file of `splitMinBytes` or more is read as two parts at once ({@link scanInTwo}).
 *
 * Users may be planned in any order: the plan file is sorted by user and the summary does not depend
 * on the order. Results are absorbed as they arrive (the plan writer spills to disk), so memory does
 * not grow with the input. Returns the writer holding the users (not finished).
 */
export async function planOnThreads(
  options: PlanOnThreadsOptions,
): Promise<{ scan: ScanSummary; writer: PlanFileWriter | undefined }> {
  const lanes = options.threads ?? defaultPlanThreads();
  if (!Number.isInteger(lanes) || lanes < 0) {
    throw new SyncError('USAGE', `Expected \`threads\` to be an integer from 0 and up, got ${lanes}`);
  }
  // This thread plans too once the file is read (it is idle then), so one worker fewer starts: with 2
  // cores, starting a worker and loading its modules costs about 100 ms of CPU taken from the scan.
  const pool = new PlanPool(
    {
      mode: options.mode,
      assumeEmpty: true,
      planLines: options.newWriter !== undefined,
      ...(options.rate === undefined ? {} : { rate: options.rate }),
      ...(options.shard === undefined ? {} : { shard: options.shard }),
    },
    lanes >= 2 ? lanes - 1 : lanes,
  );
  // Loading the threads' modules overlaps the start of the scan.
  pool.warm();
  const joins = lanes >= 2 && pool.threads > 0;
  /** Planning lanes once the file is read: the workers, and this thread when it joins them. */
  const planLanes = pool.threads + (joins ? 1 : 0);
  const newAttempt = (): Attempt =>
    new Attempt(
      pool,
      new SummaryBuilder({
        mode: options.mode,
        assumeEmpty: true,
        ...(options.rate === undefined ? {} : { rate: options.rate }),
      }),
      options.newWriter?.(),
      planLanes,
    );
  const speculative = newAttempt();
  let attempt = speculative;
  const voidSpeculative = (): void => {
    pool.dropQueued();
    speculative.drop();
  };
  const signal = options.reader.signal;
  const stop = (): void => {
    pool.close().catch(() => undefined);
  };
  signal?.addEventListener('abort', stop, { once: true });
  try {
    const split =
      planLanes >= 2 &&
      options.reader.strict !== true &&
      options.reader.maxInvalid === undefined &&
      options.reader.groupNameMaxBytes === undefined &&
      existsSync(SCAN_WORKER_FILE)
        ? await findSplit(options.input, options.splitMinBytes ?? DEFAULT_SPLIT_MIN_BYTES)
        : undefined;
    const scanned =
      split === undefined
        ? await scanWhole(options, speculative, voidSpeculative)
        : await scanInTwo(options, split, speculative, voidSpeculative);
    if (joins) pool.joinIn();
    try {
      if (scanned.units === undefined) attempt = speculative;
      else {
        voidSpeculative();
        attempt = newAttempt();
        for (const unit of scanned.units) await attempt.add(unit);
      }
      await attempt.done().catch((error: unknown) => {
        if (signal?.aborted === true) throw new SyncError('INTERRUPTED', 'Planning was interrupted');
        throw error;
      });
    } finally {
      await scanned.dispose();
    }
    options.builder.addUsersOf(attempt.part.result());
    return { scan: scanned.summary, writer: attempt.writer };
  } catch (error) {
    speculative.drop();
    attempt.drop();
    await speculative.done().catch(() => undefined);
    await attempt.done().catch(() => undefined);
    throw error;
  } finally {
    signal?.removeEventListener('abort', stop);
    await pool.close();
  }
}

/** A scanned file: its summary, and either `units` to plan or (undefined) the segments already given. */
interface Scanned {
  readonly summary: ScanSummary;
  /** Undefined: grouped, every user was in a segment given to the speculative attempt. */
  readonly units: readonly PlanUnit[] | undefined;
  readonly dispose: () => Promise<void>;
}

/** The scan events of the speculative attempt: segments planned at once, void when ungrouped. */
function onScanEvent(speculative: Attempt, voidSpeculative: () => void) {
  return (event: ScanEvent): Promise<void> | undefined => {
    if (event.type === 'ungrouped') voidSpeculative();
    // Waiting for room holds the reader back when the threads fall behind: bounded memory.
    else if (event.type === 'segment') return addSegments(speculative, [event.segment]);
    return undefined;
  };
}

function addSegments(attempt: Attempt, segments: readonly StagedSegment[]): Promise<void> {
  const unit = segmentsUnit(segments);
  return unit === undefined ? Promise.resolve() : attempt.add(unit);
}

async function scanWhole(
  options: PlanOnThreadsOptions,
  speculative: Attempt,
  voidSpeculative: () => void,
): Promise<Scanned> {
  const scan = await scanInput(options.input, {
    ...options.reader,
    ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }),
    onEvent: onScanEvent(speculative, voidSpeculative),
  });
  const staged = scan.takeStaged();
  return {
    summary: scan.summary,
    units: scan.summary.grouped ? undefined : await partitionUnits([staged]),
    dispose: () => scan.dispose(),
  };
}

/**
 * Reads the file as two parts at once: the first on this thread, the second on a scan worker
 * (src/parallel/scan-worker.ts) that starts once the header is known. Each part stages its rows as one
 * scan would (its own spill, or partitions by the same hash and count), holding back the user at the
 * seam (the first part's last, the second part's first). The second part's rejected rows are
 * reported after the first part's, so they come in file order.
 *
 * Combined: when both parts are sorted by user and the seam is in order, the file is grouped: the
 * parts' segments were planned as they came, and the users at the seam make one more unit (one user
 * if it is the same on both sides). Otherwise the parts' partitions (a grouped part's spill is
 * partitioned first) are planned pairwise: partition i of both parts holds the same users.
 */
async function scanInTwo(
  options: PlanOnThreadsOptions,
  split: SplitPoint,
  speculative: Attempt,
  voidSpeculative: () => void,
): Promise<Scanned> {
  const path = options.input;
  const count = partitionCount(split.size);
  const dir = await createWorkDir(tmpdir());
  const rejections = join(dir, 'rejections.ndjson');
  let second: ScanWorker | undefined;
  let first: InputScan | undefined;
  try {
    const onEvent = onScanEvent(speculative, voidSpeculative);
    first = await scanInput(path, {
      ...options.reader,
      ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }),
      part: { start: 0, end: split.offset, partitions: count },
      onEvent: (event) => {
        if (event.type !== 'header') return onEvent(event);
        second = new ScanWorker(
          {
            path,
            part: {
              start: split.offset,
              end: split.size,
              header: event.header,
              firstLine: split.line,
              partitions: count,
            },
            tmpDir: dir,
            rejections,
            ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }),
          },
          (segment) => addSegments(speculative, [segment]),
          voidSpeculative,
        );
        return undefined;
      },
    });
    if (second === undefined) throw new Error('scanInTwo: the header was not seen');
    const b = await second.result;
    if (existsSync(rejections)) {
      for await (const text of createInterface({
        input: createReadStream(rejections),
        crlfDelay: Infinity,
      })) {
        options.reader.onRejected?.(JSON.parse(text) as Rejection);
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
    let units: PlanUnit[] | undefined;
    if (grouped) {
      const seam = [aPart.tail, bPart.head].filter((r) => r !== undefined);
      await addSegments(speculative, seam);
    } else {
      voidSpeculative();
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
      },
      units,
      dispose: async () => {
        await scanned.dispose();
        await removeWorkDir(dir);
      },
    };
  } catch (error) {
    // The first part's error is thrown before the second part's is looked at: file order.
    await second?.stop();
    await first?.dispose();
    await removeWorkDir(dir);
    // The first part failed before its header (e.g. the header comes after the middle, or there is
    // none): read the file in one part, which fails the same way or finds the header.
    if (second === undefined && options.reader.signal?.aborted !== true) {
      return scanWhole(options, speculative, voidSpeculative);
    }
    throw error;
  }
}

/** One way of planning the file: its units' results go into its own summary part and plan writer. */
class Attempt {
  readonly part: SummaryBuilder;
  readonly writer: PlanFileWriter | undefined;
  #chain: Promise<void> = Promise.resolve();
  #error: unknown;
  #dropped = false;
  /** Units added and not absorbed yet; `add` waits while there are `#window` of them. */
  #outstanding = 0;
  readonly #window: number;
  /** Callers of `add` waiting for room (the parts of a file add from two places at once). */
  readonly #waiting: (() => void)[] = [];

  readonly #pool: PlanPool;

  constructor(pool: PlanPool, part: SummaryBuilder, writer: PlanFileWriter | undefined, lanes: number) {
    this.#pool = pool;
    this.part = part;
    this.writer = writer;
    this.#window = 2 * Math.max(1, lanes);
  }

  /** Plans the unit; resolves when there is room for another one. */
  add(unit: PlanUnit): Promise<void> {
    if (this.#dropped) return Promise.resolve();
    this.#outstanding++;
    // Handled at once, so a unit failing while earlier ones are absorbed is not an unhandled rejection.
    const outcome = this.#pool.run(unit).then(
      (result): { result: PlanUnitResult } | { error: unknown } => ({ result }),
      (error: unknown) => ({ error }),
    );
    this.#chain = this.#chain.then(async () => {
      const settled = await outcome;
      if (this.#dropped || this.#error !== undefined) return;
      if ('error' in settled) {
        this.#error = settled.error;
        return;
      }
      const { summary, users, lines, contentSum } = settled.result;
      this.part.addUsersOf(summary);
      await this.writer?.addSerialized(users, lines, contentSum);
    });
    this.#chain = this.#chain
      .catch((error: unknown) => {
        this.#error ??= error;
      })
      .finally(() => {
        this.#outstanding--;
        this.#waiting.shift()?.();
      });
    if (this.#outstanding <= this.#window || this.#dropped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#waiting.push(resolve);
    });
  }

  /** Waits for every unit added so far; throws the first failure. */
  async done(): Promise<void> {
    await this.#chain;
    if (this.#error !== undefined && !this.#dropped) throw this.#error;
  }

  /** Void: later results are ignored, the plan writer's files removed. */
  drop(): void {
    if (this.#dropped) return;
    this.#dropped = true;
    for (const resolve of this.#waiting.splice(0)) resolve();
    const writer = this.writer;
    if (writer !== undefined) {
      this.#chain = this.#chain.then(() => writer.abort()).catch(() => undefined);
    }
  }
}
