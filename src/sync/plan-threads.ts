import { SyncError } from '../errors.js';
import type { Mode } from '../model.js';
import type { PlanFileWriter } from '../planner/plan-file.js';
import { SummaryBuilder } from '../planner/summary.js';
import { scanInput } from '../reader/scan-input.js';
import type { ReaderOptions, ScanSummary } from '../reader/types.js';
import { PlanPool } from './plan-pool.js';
import type { PlanUnit, PlanUnitResult } from './plan-units.js';
import type { Shard } from './shard.js';

export interface PlanOnThreadsOptions {
  readonly input: string;
  readonly mode: Mode;
  readonly rate?: number;
  readonly shard?: Shard;
  /** @default one per core, at most 4 (see {@link PlanPool}) */
  readonly threads?: number;
  /** strict, maxInvalid, onRejected, signal. */
  readonly reader: Pick<ReaderOptions, 'strict' | 'maxInvalid' | 'onRejected' | 'signal'>;
  /** Receives the users' totals. */
  readonly builder: SummaryBuilder;
  /** A new plan file writer, when a plan file is written. */
  readonly newWriter?: () => PlanFileWriter;
}

/**
 * Plans every user of a CSV without reading the service (assume-empty), on worker threads:
 *
 * - while the rows are grouped by user, each stretch of staged rows the reader reports
 *   (`onSegment`) is planned at once, while the rest of the file is still being read;
 * - if the rows turn out not grouped, that speculative work is dropped (its summary part and plan
 *   writer are thrown away), and once the file was read its partitions are planned instead.
 *
 * Users may be planned in any order: the plan file is sorted by user and the summary does not depend
 * on the order. Results are absorbed as they arrive (the plan writer spills to disk), so memory does
 * not grow with the input. Returns the writer holding the users (not finished).
 */
export async function planOnThreads(
  options: PlanOnThreadsOptions,
): Promise<{ scan: ScanSummary; writer: PlanFileWriter | undefined }> {
  const pool = new PlanPool(
    {
      mode: options.mode,
      assumeEmpty: true,
      planLines: options.newWriter !== undefined,
      ...(options.rate === undefined ? {} : { rate: options.rate }),
      ...(options.shard === undefined ? {} : { shard: options.shard }),
    },
    options.threads,
  );
  const newAttempt = (): Attempt =>
    new Attempt(
      pool,
      new SummaryBuilder({
        mode: options.mode,
        assumeEmpty: true,
        ...(options.rate === undefined ? {} : { rate: options.rate }),
      }),
      options.newWriter?.(),
    );
  const speculative = newAttempt();
  let attempt = speculative;
  const signal = options.reader.signal;
  const stop = (): void => {
    pool.close().catch(() => undefined);
  };
  signal?.addEventListener('abort', stop, { once: true });
  try {
    const scan = await scanInput(options.input, {
      ...options.reader,
      // Waiting for room holds the reader back when the threads fall behind: bounded memory.
      onSegment: (segment) => speculative.add({ kind: 'segment', ...segment }),
      onUngrouped: () => {
        pool.dropQueued();
        speculative.drop();
      },
    });
    try {
      const work = scan.takeWork();
      if (work.kind === 'partitioned') {
        attempt = newAttempt();
        for (const path of work.partitions) await attempt.add({ kind: 'partition', path });
      }
      await attempt.done().catch((error: unknown) => {
        if (signal?.aborted === true) throw new SyncError('INTERRUPTED', 'Planning was interrupted');
        throw error;
      });
    } finally {
      await scan.dispose();
    }
    options.builder.addUsersOf(attempt.part.result());
    return { scan: scan.summary, writer: attempt.writer };
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
  #room: (() => void) | undefined;

  constructor(
    private readonly pool: PlanPool,
    part: SummaryBuilder,
    writer: PlanFileWriter | undefined,
  ) {
    this.part = part;
    this.writer = writer;
    this.#window = 2 * Math.max(1, pool.threads);
  }

  /** Plans the unit; resolves when there is room for another one. */
  add(unit: PlanUnit): Promise<void> {
    this.#outstanding++;
    // Handled at once, so a unit failing while earlier ones are absorbed is not an unhandled rejection.
    const outcome = this.pool.run(unit).then(
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
        const room = this.#room;
        this.#room = undefined;
        room?.();
      });
    if (this.#outstanding < this.#window || this.#dropped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#room = resolve;
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
    const room = this.#room;
    this.#room = undefined;
    room?.();
    const writer = this.writer;
    if (writer !== undefined) this.#chain = this.#chain.then(() => writer.abort());
  }
}
