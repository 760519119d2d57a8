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
  const scan = await scanInput(options.input, {
    ...(options.strict === undefined ? {} : { strict: options.strict }),
    ...(options.maxInvalid === undefined ? {} : { maxInvalid: options.maxInvalid }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    onRejected: (rejection) => {
      builder.addRejection(rejection);
      options.onRejected?.(rejection);
    },
  });
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
  }
}
