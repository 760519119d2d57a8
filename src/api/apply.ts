import { resolve } from 'node:path';
import { isSyncError } from '../errors.js';
import { countingApart } from '../executor/index.js';
import type { Mode } from '../model.js';
import type { Shard } from '../planner/shard.js';
import { runApplyJob } from '../sync/apply-job.js';
import { type ApplySummary, applyStatus, applySummary } from '../sync/apply-summary.js';
import {
  bindPlanOptions,
  checkPlanTarget,
  type PlanBoundOptions,
  readPlanHeaderIfAny,
} from '../sync/plan-binding.js';
import { CSV_JOB_RULES, checkOptions, is, ROW_LIMIT_RULES, toMaxDelete, toShard } from './check-options.js';
import { type Client, clientRule, connectionOf } from './client.js';
import { linkSignal, type OnProgress, ProgressEvents } from './progress.js';

export type { ApplyStatus, ApplySummary } from '../sync/apply-summary.js';

/** Options of {@link apply}. */
export interface ApplyRunOptions {
  /** A CSV, or a plan file written by {@link plan} (`out`), whose options it then takes. */
  readonly input: string;
  /**
   * The checkpoint file: what is done is recorded there as it is done; the same call with the same
   * checkpoint resumes an interrupted run.
   */
  readonly checkpoint: string;
  /** The app to write to. */
  readonly client: Client;
  /** `merge` adds what is missing; `mirror` also removes what the CSV lacks. @default 'merge' (a plan file: its own) */
  readonly mode?: Mode | undefined;
  /** Write without reading first (a migration into an empty app). @default false */
  readonly assumeEmpty?: boolean | undefined;
  /** Mirror: refuse the run, before any write, when it removes more: a count or `'10%'`. @default '10%' */
  readonly maxDelete?: number | string | undefined;
  /** A failures file: every rejected row and failed item, itself a valid input. @default none */
  readonly failures?: string | undefined;
  /** A state snapshot: users whose rows did not change since the last run are left out. @default none */
  readonly state?: string | undefined;
  /** With `state`: read every user again. @default false */
  readonly refresh?: boolean | undefined;
  /** Plan file: re-plan users the app changed since the plan was made, instead of refusing them. @default false */
  readonly replanStale?: boolean | undefined;
  /** Only the users of one shard: `{ index, count }` or `'i/n'`. @default every user */
  readonly shard?: Shard | string | undefined;
  /** Stop at the first rejected row. @default false */
  readonly strict?: boolean | undefined;
  /** Stop when more rows than this are rejected. @default no limit */
  readonly maxInvalid?: number | undefined;
  /** Reject rows whose GroupName is longer than this many UTF-8 bytes. @default 64 */
  readonly groupNameLimit?: number | undefined;
  /** Users in flight. @default 2 × the client's rate × 0.15 s (60 at 200 calls/s) */
  readonly concurrency?: number | undefined;
  /**
   * Stops the run: no new call; the checkpoint is flushed and the result says `interrupted` (call
   * again with the same checkpoint to resume). `AbortSignal.timeout(ms)` bounds a run's duration.
   * @default none
   */
  readonly signal?: AbortSignal | undefined;
  /** Told each phase, the plan's size, the guard's verdict, warnings, and the live figures. @default none */
  readonly onProgress?: OnProgress | undefined;
  /** How often `progress` events come while writing, in ms. @default 1000 */
  readonly progressIntervalMs?: number | undefined;
}

/** What {@link apply} returns: the CLI's `apply --json` line, without the exit code. */
export type ApplyRunResult = ApplySummary;

const RULES = {
  ...CSV_JOB_RULES,
  ...ROW_LIMIT_RULES,
  checkpoint: is.path(true),
  client: { ...clientRule, required: true },
  assumeEmpty: is.boolean(),
  maxDelete: is.maxDelete(),
  failures: is.path(),
  state: is.path(),
  refresh: is.boolean(),
  replanStale: is.boolean(),
  concurrency: is.integer(1, 10_000),
  progressIntervalMs: is.integer(10, 3_600_000),
} as const;

/** The summary of a run stopped before its first write (nothing was changed). */
const STOPPED_EARLY: ApplySummary = {
  status: 'interrupted',
  rows: undefined,
  users: undefined,
  operations: undefined,
  endpoints: undefined,
  failedItems: 0,
  failuresWritten: 0,
  stateSaved: false,
  durationMs: undefined,
};

/**
 * Applies a CSV or a plan file to the app: `cgsync apply`. Resolves with the summary however the run
 * ends (`status`: ok, partial, interrupted, refused, fatal; `error` says why a fatal run stopped);
 * rejects only when it cannot start (a bad option or input, a checkpoint of another input, a lock
 * held by another run).
 * @throws SyncError `USAGE` for a bad option, before any work; `CHECKPOINT`, `LOCKED`, `INVALID_INPUT`, …
 */
export async function apply(options: ApplyRunOptions): Promise<ApplyRunResult> {
  checkOptions<ApplyRunOptions>('apply', options, RULES);
  const connection = connectionOf('apply', options.client);
  const events = new ProgressEvents(options.onProgress, options.progressIntervalMs ?? 1000);
  const linked = linkSignal(options.signal);
  const input = resolve(options.input);
  const maxDelete = options.maxDelete === undefined ? undefined : toMaxDelete(options.maxDelete);
  const shard = options.shard === undefined ? undefined : toShard(options.shard);
  const given: PlanBoundOptions = {
    mode: options.mode ?? 'merge',
    ...(options.assumeEmpty === undefined ? {} : { assumeEmpty: options.assumeEmpty }),
    ...(maxDelete === undefined ? {} : { maxDelete }),
    ...(shard === undefined ? {} : { shard }),
    ...(options.groupNameLimit === undefined ? {} : { groupNameLimit: options.groupNameLimit }),
  };
  try {
    const header = await readPlanHeaderIfAny(input);
    const bound = header === undefined ? given : bindPlanOptions(header, given, explicitOf(options), input);
    if (header !== undefined) checkPlanTarget(header, connection.target, input, events.onWarning);
    const result = await runApplyJob({
      input,
      checkpoint: resolve(options.checkpoint),
      target: connection.target,
      mode: bound.mode,
      assumeEmpty: bound.assumeEmpty === true,
      api: connection.api,
      scheduler: countingApart(connection.scheduler),
      ...(bound.maxDelete === undefined ? {} : { maxDelete: bound.maxDelete }),
      ...(bound.shard === undefined ? {} : { shard: bound.shard }),
      ...(bound.groupNameLimit === undefined ? {} : { groupNameLimit: bound.groupNameLimit }),
      ...(options.failures === undefined ? {} : { failures: resolve(options.failures) }),
      ...(options.state === undefined ? {} : { state: resolve(options.state) }),
      ...(options.refresh === undefined ? {} : { refresh: options.refresh }),
      ...(options.replanStale === undefined ? {} : { replanStale: options.replanStale }),
      ...(options.strict === undefined ? {} : { strict: options.strict }),
      ...(options.maxInvalid === undefined ? {} : { maxInvalid: options.maxInvalid }),
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      ...(linked.signal === undefined ? {} : { signal: linked.signal }),
      onWarning: events.onWarning,
      onPhase: events.onPhase,
      onGuard: events.onGuard,
      onPlanned: events.onPlanned,
    });
    return applySummary(result, applyStatus(result, linked.signal?.aborted === true));
  } catch (err) {
    // Stopped while reading the input or the app: nothing was written; the same call starts again.
    if (isSyncError(err, 'INTERRUPTED') && linked.signal?.aborted === true) return STOPPED_EARLY;
    throw err;
  } finally {
    linked.dispose();
  }
}

/** The options given a value (an option set to undefined means its default, as everywhere). */
function explicitOf(options: ApplyRunOptions): ReadonlySet<string> {
  return new Set(Object.entries(options).flatMap(([key, value]) => (value === undefined ? [] : [key])));
}
