import { resolve } from 'node:path';
import { countingApart } from '../executor/index.js';
import type { Mode } from '../model.js';
import type { Shard } from '../planner/shard.js';
import type { PlanSummary } from '../planner/summary.js';
import type { GuardVerdict } from '../sync/guard.js';
import { planStamp } from '../sync/plan-binding.js';
import { runPlanJob } from '../sync/plan-job.js';
import { CSV_JOB_RULES, checkOptions, is, ROW_LIMIT_RULES, toMaxDelete, toShard } from './check-options.js';
import { type Client, clientRule, connectionOf } from './client.js';
import { linkSignal, type OnProgress, ProgressEvents } from './progress.js';

/** Options of {@link plan}. */
export interface PlanRunOptions {
  /** The CSV to plan (see the README's "CSV format"). */
  readonly input: string;
  /** The app to read. Needed unless `assumeEmpty`. @default none */
  readonly client?: Client | undefined;
  /** `merge` adds what is missing; `mirror` also removes what the CSV lacks. @default 'merge' */
  readonly mode?: Mode | undefined;
  /** Plan against an empty app: nothing is read (no client needed). @default false */
  readonly assumeEmpty?: boolean | undefined;
  /** Where to write the plan file, which {@link apply} takes as its input. @default none */
  readonly out?: string | undefined;
  /** Report files, `.html` or `.md`. @default [] */
  readonly reports?: readonly string[] | undefined;
  /** A failures file: rejected rows and the rows of users that could not be read. @default none */
  readonly failures?: string | undefined;
  /** Only the users of one shard: `{ index, count }` or `'i/n'`. @default every user */
  readonly shard?: Shard | string | undefined;
  /** Stop at the first rejected row. @default false */
  readonly strict?: boolean | undefined;
  /** Stop when more rows than this are rejected. @default no limit */
  readonly maxInvalid?: number | undefined;
  /** Reject rows whose GroupName is longer than this many UTF-8 bytes. @default 64 */
  readonly groupNameLimit?: number | undefined;
  /** Mirror: the deletion guard decided on the plan: a count, or a percentage such as `'10%'`. @default '10%' */
  readonly maxDelete?: number | string | undefined;
  /** Calls per second per endpoint for the estimate. @default the client's rate, or 200 */
  readonly rate?: number | undefined;
  /** Time of one call in ms for the estimate. @default measured from the plan's reads */
  readonly latencyMs?: number | undefined;
  /** Users in flight apply will use, for the estimate. @default 60 */
  readonly concurrency?: number | undefined;
  /** With `assumeEmpty`: worker threads (0: none). @default one per core, at most 4 */
  readonly threads?: number | undefined;
  /** Stops the plan: it rejects with `SyncError('INTERRUPTED')`, and no file is written. @default none */
  readonly signal?: AbortSignal | undefined;
  /** Told each phase (`scan`, `read`) and each warning. @default none */
  readonly onProgress?: OnProgress | undefined;
}

/** What {@link plan} returns: the CLI's `plan --json` line. */
export type PlanRunResult = PlanSummary & {
  readonly rows: { readonly total: number; readonly rejected: number };
  /** Mirror: what apply's deletion guard would decide on this plan (absent in merge mode). */
  readonly guard?: GuardVerdict | undefined;
};

const RULES = {
  ...CSV_JOB_RULES,
  ...ROW_LIMIT_RULES,
  client: clientRule,
  assumeEmpty: is.boolean(),
  out: is.path(),
  reports: is.paths(),
  failures: is.path(),
  maxDelete: is.maxDelete(),
  rate: is.rate(),
  latencyMs: is.number(0, 3_600_000),
  concurrency: is.integer(1, 10_000),
  threads: is.integer(0, 64),
} as const;

/**
 * What applying `input` would change, how many calls and how long: `cgsync plan`. Reads the app
 * (unless `assumeEmpty`) and writes nothing to it; writes the plan file, reports and failures file
 * asked for, each whole or not at all.
 * @throws SyncError `USAGE` for a bad option, before any work; `INTERRUPTED` when `signal` stops it.
 */
export async function plan(options: PlanRunOptions): Promise<PlanRunResult> {
  checkOptions<PlanRunOptions>('plan', options, RULES);
  const connection =
    options.assumeEmpty === true && options.client === undefined
      ? undefined
      : connectionOf('plan', options.client);
  const events = new ProgressEvents(options.onProgress, 1000);
  const linked = linkSignal(options.signal);
  const shard = options.shard === undefined ? undefined : toShard(options.shard);
  const maxDelete = options.maxDelete === undefined ? undefined : toMaxDelete(options.maxDelete);
  const rate = options.rate ?? connection?.scheduler.rate;
  const at = new Date().toISOString();
  const target = connection?.target;
  try {
    const { summary, scan, guard } = await runPlanJob({
      input: resolve(options.input),
      mode: options.mode ?? 'merge',
      assumeEmpty: options.assumeEmpty === true,
      reports: (options.reports ?? []).map((r) => resolve(r)),
      ...(rate === undefined ? {} : { rate }),
      ...(options.out === undefined ? {} : { out: resolve(options.out) }),
      ...(shard === undefined ? {} : { shard }),
      ...(options.strict === undefined ? {} : { strict: options.strict }),
      ...(options.maxInvalid === undefined ? {} : { maxInvalid: options.maxInvalid }),
      ...(options.threads === undefined ? {} : { threads: options.threads }),
      ...(options.failures === undefined ? {} : { failures: resolve(options.failures) }),
      ...(options.groupNameLimit === undefined ? {} : { groupNameLimit: options.groupNameLimit }),
      ...(maxDelete === undefined ? {} : { maxDelete }),
      ...(options.latencyMs === undefined ? {} : { latencyMs: options.latencyMs }),
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      ...planStamp(options.input, at, target),
      onWarning: events.onWarning,
      onPhase: events.onPhase,
      ...(connection === undefined
        ? {}
        : { api: connection.api, scheduler: countingApart(connection.scheduler) }),
      ...(linked.signal === undefined ? {} : { signal: linked.signal }),
    });
    return {
      ...summary,
      rows: { total: scan.rows, rejected: scan.rejectedRows },
      ...(guard === undefined ? {} : { guard }),
    };
  } finally {
    linked.dispose();
  }
}
