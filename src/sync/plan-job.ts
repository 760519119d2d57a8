import { extname } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { SyncError } from '../errors.js';
import type { EndpointScheduler } from '../executor/rate/limiters.js';
import type { Mode } from '../model.js';
import { type ParallelFacts, planOnThreads } from '../parallel/plan-on-threads.js';
import type { JsonValue } from '../planner/canonical.js';
import { createPlanHeader, PlanFileWriter, type PlanMade } from '../planner/plan-file.js';
import type { ReportHeader } from '../planner/report-format.js';
import { renderHtml } from '../planner/report-html.js';
import { renderMarkdown } from '../planner/report-markdown.js';
import type { Shard } from '../planner/shard.js';
import { type PlanSummary, SummaryBuilder } from '../planner/summary.js';
import { type Rejection, type ScanSummary, scanInput } from '../reader/index.js';
import type { ChatApi } from '../tencent/api.js';
import { userFailures } from './failure-items.js';
import { FailuresSink } from './failures-file.js';
import {
  checkDeleteGuard,
  DEFAULT_MAX_DELETE,
  formatMaxDelete,
  type GuardVerdict,
  type MaxDelete,
} from './guard.js';
import { countInputUsers } from './input-totals.js';
import { LatencyMeter } from './latency-meter.js';
import type { OnPhase } from './phase.js';
import { planUsers } from './plan-users.js';
import { countReads, type OnReadProgress } from './read-progress.js';

export interface PlanJobOptions {
  readonly input: string;
  readonly mode: Mode;
  readonly assumeEmpty: boolean;
  /** Where to write the plan file (NDJSON, see src/planner/PLAN-FORMAT.md). */
  readonly out?: string;
  /** Report files; the format follows the extension (.html, .md). */
  readonly reports?: readonly string[];
  /** Calls per second per endpoint for the duration estimate. @default 200 */
  readonly rate?: number;
  /**
   * Time of one call in ms for the duration estimate; when absent and the app is read, the median time
   * of the plan's own reads. @default measured, or 0 with `assumeEmpty`
   */
  readonly latencyMs?: number;
  /** Users in flight apply will use (`--concurrency`), for the estimate. @default 60 */
  readonly concurrency?: number;
  /**
   * Mirror: apply's deletion guard, decided on the plan (`guard` in the result) and recorded in the
   * plan file for apply to use. @default 10%
   */
  readonly maxDelete?: MaxDelete;
  /** When, by what and for which target the plan is made: recorded in the plan file's header. */
  readonly made?: PlanMade;
  /** The reports' header: the input as named, the tool, the target and the time. */
  readonly reportHeader?: Omit<ReportHeader, 'sha256'>;
  readonly shard?: Shard;
  readonly strict?: boolean;
  readonly maxInvalid?: number;
  /** Needed unless `assumeEmpty`. */
  readonly api?: ChatApi;
  readonly scheduler?: EndpointScheduler;
  readonly onRejected?: (rejection: Rejection) => void;
  /**
   * A failures file (the apply format, a valid input): rejected rows, and every row of the users
   * whose state could not be read, with the code and message.
   */
  readonly failures?: string;
  /** Reject rows whose GroupName is longer than this many UTF-8 bytes. @default 64 */
  readonly groupNameLimit?: number;
  /** Told when a listing looks odd (CompleteFlag and NextStartIndex disagree). */
  readonly onWarning?: (message: string) => void;
  readonly signal?: AbortSignal;
  /** Told as each phase begins (`scan`, then `read` unless assume-empty). */
  readonly onPhase?: OnPhase;
  /** Told after each user's state is read (not with `assumeEmpty`). */
  readonly onReadProgress?: OnReadProgress;
  /**
   * With `assumeEmpty`, worker threads that plan users while the CSV is still being read (grouped
   * input) or partition by partition (ungrouped input). 0: all on this thread.
   * @default one per core, at most 4
   */
  readonly threads?: number;
  /** @internal With threads, files from this size up are read in two parts at once. @default 8 MiB */
  readonly splitMinBytes?: number;
  /** @internal With threads, the stretches of staged rows planned during the scan. @default 2 MiB */
  readonly segmentBytes?: number;
}

export interface PlanJobResult {
  readonly summary: PlanSummary;
  readonly scan: ScanSummary;
  /** Rows written to `failures`. */
  readonly failuresWritten: number;
  /** Mirror: what apply's deletion guard would decide on this plan. */
  readonly guard?: GuardVerdict;
  /** With `assumeEmpty` and threads: how the work was spread. */
  readonly parallel?: ParallelFacts;
}

/** Checks report paths before any work, so a typo fails at once. */
export function reportFormat(path: string): 'html' | 'md' {
  const ext = extname(path).toLowerCase();
  if (ext === '.html' || ext === '.htm') return 'html';
  if (ext === '.md' || ext === '.markdown') return 'md';
  throw new SyncError('USAGE', `Expected --report to end in .html or .md, got "${path}"`, { path });
}

/**
 * `cgsync plan`: reads the CSV (and, unless assume-empty, each user's state), plans every user, and
 * writes the summary, the plan file and the reports. Writes nothing to the service.
 */
export async function runPlanJob(options: PlanJobOptions): Promise<PlanJobResult> {
  const reports = (options.reports ?? []).map((path) => ({ path, format: reportFormat(path) }));
  const builder = new SummaryBuilder({
    mode: options.mode,
    assumeEmpty: options.assumeEmpty,
    ...(options.rate === undefined ? {} : { rate: options.rate }),
    ...(options.latencyMs === undefined ? {} : { latencyMs: options.latencyMs }),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
  });
  const maxDelete = options.maxDelete ?? DEFAULT_MAX_DELETE;
  // What shaped the plan, which `apply plan.ndjson` takes from it (a flag saying otherwise is refused).
  const recorded: Record<string, JsonValue> = { groupNameLimit: options.groupNameLimit ?? 64 };
  if (options.shard !== undefined) recorded.shard = `${options.shard.index}/${options.shard.count}`;
  if (options.mode === 'mirror') recorded.maxDelete = formatMaxDelete(maxDelete);
  const header = createPlanHeader({
    mode: options.mode,
    assumeEmpty: options.assumeEmpty,
    options: recorded,
    ...(options.made === undefined ? {} : { made: options.made }),
  });
  // The plan's own reads are timed (after the limiter's wait: the call alone) for the latency, unless
  // given, and for the calls per second this machine reached with the service.
  const meter = options.api === undefined ? undefined : new LatencyMeter(options.api);
  const out = options.out;
  const failures = new FailuresSink(options.failures);
  const reader = {
    ...(options.strict === undefined ? {} : { strict: options.strict }),
    ...(options.maxInvalid === undefined ? {} : { maxInvalid: options.maxInvalid }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.groupNameLimit === undefined ? {} : { groupNameMaxBytes: options.groupNameLimit }),
    onRejected: (rejection: Rejection) => {
      builder.addRejection(rejection);
      failures.writeRejected(rejection);
      options.onRejected?.(rejection);
    },
  };
  let writer: PlanFileWriter | undefined;
  let scanSummary: ScanSummary;
  let parallel: ParallelFacts | undefined;
  await options.onPhase?.('scan');
  try {
    if (options.assumeEmpty && options.threads !== 0) {
      // Nothing to read from the service: plan on worker threads, during the scan when possible.
      const planned = await planOnThreads({
        input: options.input,
        mode: options.mode,
        reader,
        builder,
        ...(out === undefined ? {} : { newWriter: () => new PlanFileWriter(out, header) }),
        ...(options.rate === undefined ? {} : { rate: options.rate }),
        ...(options.shard === undefined ? {} : { shard: options.shard }),
        ...(options.threads === undefined ? {} : { threads: options.threads }),
        ...(options.splitMinBytes === undefined ? {} : { splitMinBytes: options.splitMinBytes }),
        ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }),
      });
      writer = planned.writer;
      scanSummary = planned.scan;
      parallel = planned.parallel;
    } else {
      const scan = await scanInput(options.input, reader);
      scanSummary = scan.summary;
      failures.open(scan.summary.header);
      writer = out === undefined ? undefined : new PlanFileWriter(out, header);
      try {
        if (!options.assumeEmpty) await options.onPhase?.('read');
        const onReadProgress = options.assumeEmpty ? undefined : options.onReadProgress;
        // The users to read (of the shard; one pass over the staged rows if the scan did not count them).
        const total =
          onReadProgress === undefined
            ? undefined
            : (
                await countInputUsers(scan, {
                  ...(options.shard === undefined ? {} : { shard: options.shard }),
                  ...(options.signal === undefined ? {} : { signal: options.signal }),
                })
              ).users;
        const planned = countReads(
          planUsers(scan.users(), {
            mode: options.mode,
            assumeEmpty: options.assumeEmpty,
            ...(options.api === undefined ? {} : { api: meter ?? options.api }),
            ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
            ...(options.shard === undefined ? {} : { shard: options.shard }),
            ...(options.signal === undefined ? {} : { signal: options.signal }),
            ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
          }),
          total,
          onReadProgress,
        );
        for await (const { plan, desired, readFailure } of planned) {
          if (readFailure !== undefined) {
            // Not planned (the plan file holds no line for it): listed apart, its rows to --failures.
            builder.addUnreadable({ user: plan.user, ...readFailure });
            for (const item of userFailures(desired, readFailure.errorCode, readFailure.message)) {
              failures.writeFailed(item);
            }
            continue;
          }
          builder.addUser(plan);
          await writer?.add(plan);
        }
      } finally {
        await scan.dispose();
      }
    }
    const measured = options.latencyMs === undefined ? meter?.median() : undefined;
    if (measured !== undefined) builder.setLatency(measured);
    const reached = meter?.throughput();
    if (reached !== undefined) builder.setObservedRate(reached);
    const summary = builder.result();
    await writer?.finish(summary);
    const reportHeader =
      options.reportHeader === undefined
        ? undefined
        : { ...options.reportHeader, sha256: scanSummary.inputDigest };
    // Each report appears whole or not at all (a previous one stays until the new one is complete).
    for (const report of reports) {
      await writeFileAtomic(
        report.path,
        report.format === 'html' ? renderHtml(summary, reportHeader) : renderMarkdown(summary, reportHeader),
      );
    }
    const guard =
      options.mode === 'mirror'
        ? checkDeleteGuard(maxDelete, summary.memberships.removed, summary.memberships.examined)
        : undefined;
    return {
      summary,
      scan: scanSummary,
      failuresWritten: await failures.close(),
      ...(guard === undefined ? {} : { guard }),
      ...(parallel === undefined ? {} : { parallel }),
    };
  } catch (err) {
    await writer?.abort();
    throw err;
  } finally {
    await failures.close().catch(() => undefined);
  }
}
