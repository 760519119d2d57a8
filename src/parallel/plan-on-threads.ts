import { SyncError } from '../errors.js';
import type { Mode } from '../model.js';
import type { PlanFileWriter } from '../planner/plan-file.js';
import type { Shard } from '../planner/shard.js';
import { SummaryBuilder } from '../planner/summary.js';
import { type ScanSummary, type StagedSegment, segmentsUnit } from '../reader/index.js';
import { createPlanPool, defaultPlanThreads, type PlanPool } from './plan-pool.js';
import type { PlanUnit, PlanUnitResult } from './plan-unit.js';
import { type ScanReaderOptions, type SegmentSink, scanInTwo, scanWhole } from './scan-in-two.js';
import { DEFAULT_SPLIT_MIN_BYTES, findSplit } from './split.js';

export interface PlanOnThreadsOptions {
  readonly input: string;
  readonly mode: Mode;
  readonly rate?: number;
  readonly shard?: Shard;
  /**
   * Planning threads. From 2 up, one of them is this thread, which plans once the file is read (the
   * others are workers, planning during the scan too). @default one per core, at most 4
   */
  readonly threads?: number;
  /** strict, maxInvalid, groupNameMaxBytes, onRejected, signal. */
  readonly reader: Omit<ScanReaderOptions, 'segmentBytes'>;
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

/** How the work was spread, for tests and diagnostics. */
export interface ParallelFacts {
  /** Planning threads started (this thread not counted). */
  readonly planThreads: number;
  /** 2 when the file was read in two parts at once (the second on its own thread), else 1. */
  readonly parts: 1 | 2;
}

/**
 * Plans every user of a CSV without reading the service (assume-empty), on worker threads:
 *
 * - while the rows are grouped by user, each stretch of staged rows the reader reports (a `segment`
 *   scan event) is planned at once, while the rest of the file is still being read;
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
): Promise<{ scan: ScanSummary; writer: PlanFileWriter | undefined; parallel: ParallelFacts }> {
  const lanes = options.threads ?? defaultPlanThreads();
  if (!Number.isInteger(lanes) || lanes < 0) {
    throw new SyncError('USAGE', `Expected \`threads\` to be an integer from 0 and up, got ${lanes}`);
  }
  // This thread plans too once the file is read (it is idle then), so one worker fewer starts:
  // starting a worker and loading its modules takes CPU time from the scan.
  const pool = createPlanPool(
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
  const joins = lanes >= 2;
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
  const sink: SegmentSink = {
    add: (segments: readonly StagedSegment[]) => {
      const unit = segmentsUnit(segments);
      return unit === undefined ? Promise.resolve() : speculative.add(unit);
    },
    drop: () => {
      pool.dropQueued();
      speculative.drop();
    },
  };
  const signal = options.reader.signal;
  const stop = (): void => {
    pool.close().catch(() => undefined);
  };
  signal?.addEventListener('abort', stop, { once: true });
  const reader: ScanReaderOptions = {
    ...options.reader,
    ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }),
  };
  try {
    const split =
      planLanes >= 2 &&
      options.reader.strict !== true &&
      options.reader.maxInvalid === undefined &&
      options.reader.groupNameMaxBytes === undefined
        ? await findSplit(options.input, options.splitMinBytes ?? DEFAULT_SPLIT_MIN_BYTES)
        : undefined;
    const scanned =
      split === undefined
        ? await scanWhole(options.input, reader, sink)
        : await scanInTwo(options.input, split, reader, sink);
    if (joins) pool.joinIn();
    try {
      if (scanned.units === undefined) attempt = speculative;
      else {
        sink.drop();
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
    return {
      scan: scanned.summary,
      writer: attempt.writer,
      parallel: { planThreads: pool.started, parts: scanned.parts },
    };
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
      const { summary, run, contentSum } = settled.result;
      this.part.addUsersOf(summary);
      await this.writer?.addRun(run, contentSum);
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
