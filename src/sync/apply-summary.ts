import type { EndpointCounts } from '../executor/rate/stats.js';
import type { RunResult } from '../executor/run-apply.js';
import { describeError } from '../log.js';
import type { Endpoint } from '../tencent/wire.js';
import type { ApplyJobResult } from './apply-types.js';

/**
 * How an apply ended: `ok` (everything applied), `partial` (finished, but rows were rejected or users
 * or operations failed), `interrupted` (stopped by the signal: run it again with the same checkpoint
 * to resume), `refused` (the deletion guard refused it before any write), `fatal` (an error stopped
 * it; nothing half-done is hidden: the checkpoint holds what was done).
 */
export type ApplyStatus = 'ok' | 'partial' | 'interrupted' | 'refused' | 'fatal';

/**
 * The status of an apply's result. `stopped`: the run's signal was aborted, also when it came during
 * the last flush (everything is saved, but the run was asked to stop).
 */
export function applyStatus(result: ApplyJobResult, stopped = false): ApplyStatus {
  const run = result.run;
  if (result.refused !== undefined) return 'refused';
  if (run === undefined || run.fatal !== undefined) return 'fatal';
  if (run.interrupted || stopped) return 'interrupted';
  const partial =
    result.rejectedRows > 0 ||
    result.staleUsers > 0 ||
    run.users.failed > 0 ||
    run.users.skipped > 0 ||
    run.operations.failed > 0;
  return partial ? 'partial' : 'ok';
}

/**
 * What an apply did, as plain data: the CLI's `--json` line (without its exit code) and the library's
 * result. No secret: an error is its redacted message.
 */
export interface ApplySummary {
  readonly status: ApplyStatus;
  /** Set when an error stopped the run. */
  readonly error?: string;
  /** Mirror: the deletion guard's verdict. */
  readonly guard?: {
    readonly ok: boolean;
    readonly removed: number;
    readonly examined: number;
    readonly allowed: number;
  };
  /** Rows read from a CSV (not from a plan file). */
  readonly rows: { readonly total: number; readonly rejected: number } | undefined;
  readonly users:
    | (RunResult['users'] & {
        /** Left out without a call: their rows did not change since the `state` snapshot. */
        readonly unchanged: number;
        /** Plan file: refused because the app changed since the plan was made. */
        readonly stale: number;
        /** Plan file with `replanStale`: re-planned against what was read. */
        readonly replanned: number;
      })
    | undefined;
  readonly operations: RunResult['operations'] | undefined;
  readonly endpoints: Readonly<Record<Endpoint, EndpointCounts>> | undefined;
  readonly failedItems: number;
  readonly failuresWritten: number;
  readonly stateSaved: boolean;
  readonly durationMs: number | undefined;
}

/** The summary of an apply (`status` from {@link applyStatus}). */
export function applySummary(result: ApplyJobResult, status: ApplyStatus): ApplySummary {
  const run = result.run;
  return {
    status,
    ...(run?.fatal === undefined ? {} : { error: describeError(run.fatal) }),
    ...(result.guard === undefined
      ? {}
      : {
          guard: {
            ok: result.guard.ok,
            removed: result.guard.removed,
            examined: result.guard.examined,
            allowed: result.guard.allowed,
          },
        }),
    rows: result.scan === undefined ? undefined : { total: result.scan.rows, rejected: result.rejectedRows },
    users:
      run === undefined
        ? undefined
        : {
            ...run.users,
            unchanged: result.unchangedUsers,
            stale: result.staleUsers,
            replanned: result.replannedUsers,
          },
    operations: run?.operations,
    endpoints: run?.endpoints,
    failedItems: run?.failedItemsTotal ?? 0,
    failuresWritten: result.failuresWritten,
    stateSaved: result.stateSaved,
    durationMs: run?.durationMs,
  };
}
