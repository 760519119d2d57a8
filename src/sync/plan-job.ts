import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { SyncError } from '../errors.js';
import type { EndpointScheduler } from '../executor/limiters.js';
import type { Mode } from '../model.js';
import { createPlanHeader, PlanFileWriter } from '../planner/plan-file.js';
import { renderHtml } from '../planner/report-html.js';
import { renderMarkdown } from '../planner/report-markdown.js';
import { type PlanSummary, SummaryBuilder } from '../planner/summary.js';
import { scanInput } from '../reader/scan-input.js';
import type { Rejection, ScanSummary } from '../reader/types.js';
import type { ChatApi } from '../tencent/api.js';
import { PlanPool } from './plan-pool.js';
import type { PlanUnitResult } from './plan-units.js';
import { planUsers } from './plan-users.js';
import type { Shard } from './shard.js';

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
  readonly shard?: Shard;
  readonly strict?: boolean;
  readonly maxInvalid?: number;
  /** Needed unless `assumeEmpty`. */
  readonly api?: ChatApi;
  readonly scheduler?: EndpointScheduler;
  readonly onRejected?: (rejection: Rejection) => void;
  readonly signal?: AbortSignal;
  /**
   * With `assumeEmpty`, worker threads that plan users while the CSV is still being read (grouped
   * input) or partition by partition (ungrouped input). 0: all on this thread.
   * @default one per core, at most 4
   */
  readonly threads?: number;
}

export interface PlanJobResult {
  readonly summary: PlanSummary;
  readonly scan: ScanSummary;
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
  });
  // Without reads, users are planned on worker threads (see `threads`): while the CSV is read when
  // its rows are grouped by user (speculatively: void if it turns out not grouped), else partition
  // by partition once it was read. Users may be planned in any order: the plan file is sorted by user
  // and the summary does not depend on the order.
  const pool =
    options.assumeEmpty && options.threads !== 0
      ? new PlanPool(
          {
            mode: options.mode,
            assumeEmpty: true,
            planLines: options.out !== undefined,
            ...(options.rate === undefined ? {} : { rate: options.rate }),
            ...(options.shard === undefined ? {} : { shard: options.shard }),
          },
          options.threads,
        )
      : undefined;
  const segments: Promise<Settled>[] = [];
  let scan: Awaited<ReturnType<typeof scanInput>>;
  try {
    scan = await scanInput(options.input, {
      ...(pool === undefined
        ? {}
        : { onSegment: (segment) => segments.push(settle(pool.run({ kind: 'segment', ...segment }))) }),
      ...(options.strict === undefined ? {} : { strict: options.strict }),
      ...(options.maxInvalid === undefined ? {} : { maxInvalid: options.maxInvalid }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onRejected: (rejection) => {
        builder.addRejection(rejection);
        options.onRejected?.(rejection);
      },
    });
  } catch (error) {
    await pool?.close();
    throw error;
  }
  const writer =
    options.out === undefined
      ? undefined
      : new PlanFileWriter(
          options.out,
          createPlanHeader({
            mode: options.mode,
            assumeEmpty: options.assumeEmpty,
            options:
              options.shard === undefined ? {} : { shard: `${options.shard.index}/${options.shard.count}` },
          }),
        );
  try {
    if (pool === undefined) {
      const planned = planUsers(scan.users(), {
        mode: options.mode,
        assumeEmpty: options.assumeEmpty,
        ...(options.api === undefined ? {} : { api: options.api }),
        ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
        ...(options.shard === undefined ? {} : { shard: options.shard }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      for await (const { plan } of planned) {
        builder.addUser(plan);
        await writer?.add(plan);
      }
    } else {
      const work = scan.takeWork();
      const units =
        work.kind === 'grouped'
          ? segments
          : work.partitions.map((path) => settle(pool.run({ kind: 'partition', path })));
      for (const unit of units) {
        const outcome = await unit;
        if ('error' in outcome) throw outcome.error;
        if (options.signal?.aborted === true) {
          throw new SyncError('INTERRUPTED', 'Planning was interrupted');
        }
        builder.addUsersOf(outcome.result.summary);
        await writer?.addSerialized(outcome.result.users, outcome.result.lines, outcome.result.contentSum);
      }
      await scan.dispose();
    }
    const summary = builder.result();
    await writer?.finish(summary);
    for (const report of reports) {
      await writeFile(
        report.path,
        report.format === 'html' ? renderHtml(summary) : renderMarkdown(summary),
        'utf8',
      );
    }
    return { summary, scan: scan.summary };
  } catch (err) {
    await writer?.abort();
    await scan.dispose();
    throw err;
  } finally {
    await pool?.close();
  }
}

type Settled = { readonly result: PlanUnitResult } | { readonly error: unknown };

/** A unit's outcome as a value, so a unit that fails while nobody awaits it yet is not unhandled. */
function settle(result: Promise<PlanUnitResult>): Promise<Settled> {
  return result.then(
    (r) => ({ result: r }),
    (error: unknown) => ({ error }),
  );
}
