import type { EndpointScheduler } from '../executor/rate/limiters.js';
import type { ProgressSink, RunResult } from '../executor/run-apply.js';
import type { Mode } from '../model.js';
import type { Shard } from '../planner/shard.js';
import type { PlanSummary } from '../planner/summary.js';
import type { ScanSummary } from '../reader/index.js';
import type { ChatApi } from '../tencent/api.js';
import type { Target } from './connection.js';
import type { GuardVerdict, MaxDelete } from './guard.js';
import type { OnPhase } from './phase.js';
import type { OnReadProgress } from './read-progress.js';

export interface ApplyJobOptions {
  /** A CSV file, or a plan file written by `cgsync plan --out`. */
  readonly input: string;
  readonly checkpoint: string;
  readonly mode: Mode;
  readonly assumeEmpty: boolean;
  /** @default 10% */
  readonly maxDelete?: MaxDelete;
  readonly failures?: string;
  /**
   * Mirror mode: before each delete or removal call, what it removes is appended (and fsync'd) to this
   * CSV in the input format, so that applying it in merge mode puts it back (see backup-file.ts). An
   * existing backup is appended to. Refused in merge mode, which never removes.
   */
  readonly backup?: string;
  readonly state?: string;
  /**
   * The app and host this run writes to, recorded in the `state` snapshot: a snapshot written for
   * another target is refused.
   */
  readonly target?: Target;
  readonly refresh?: boolean;
  /**
   * Plan file: a user whose state changed in the app since the plan was made is re-planned against
   * what is read (each operation reduced to what is still missing) instead of refused.
   * @default false
   */
  readonly replanStale?: boolean;
  readonly shard?: Shard;
  /**
   * Start applying users while the CSV is still read, when its rows are grouped by user (merge mode;
   * not with `state`, `strict` or `maxInvalid`): see apply-stream.ts for the rule.
   * @default false
   */
  readonly stream?: boolean;
  readonly strict?: boolean;
  readonly maxInvalid?: number;
  /**
   * Reject CSV rows whose GroupName is longer than this many UTF-8 bytes, before any write (32: the
   * update page's reading of OldGroupName). @default 64
   */
  readonly groupNameLimit?: number;
  /** Users in flight. @default the executor's default */
  readonly concurrency?: number;
  readonly api: ChatApi;
  readonly scheduler: EndpointScheduler;
  readonly signal?: AbortSignal;
  /**
   * Called before the first write with the plan's summary when it is known (mirror mode and plan
   * files) and the users of the input (`totals.users`: a CSV's users of the shard, counted before the
   * first write; for merge, which streams, the only total there is; the live figures' `usersTotal`
   * may tell it later, e.g. `--stream`); returns the sink of the write phase's progress.
   */
  readonly onPlanned?: (
    summary: PlanSummary | undefined,
    totals?: { readonly users?: number },
  ) => ProgressSink | undefined;
  /** Told after each user's state is read (mirror's read phase; merge's reads as they stream). */
  readonly onReadProgress?: OnReadProgress;
  readonly onGuard?: (verdict: GuardVerdict) => void;
  /** Told as each phase begins; a returned promise holds the job until it settles. */
  readonly onPhase?: OnPhase;
  /** Told when a listing looks odd (CompleteFlag and NextStartIndex disagree). */
  readonly onWarning?: (message: string) => void;
  /** Told what the job decided that an operator may want to know (e.g. an input answered by `state`). */
  readonly onInfo?: (message: string) => void;
}

export interface ApplyJobResult {
  readonly run: RunResult | undefined;
  /** Set when the deletion guard refused the run (nothing was written). */
  readonly refused?: GuardVerdict;
  readonly guard?: GuardVerdict;
  /** The rows of the CSV read (or, answered by the `state` snapshot, recorded there). */
  readonly scan?: Pick<ScanSummary, 'rows'>;
  readonly planSummary?: PlanSummary;
  /** Users skipped because their rows did not change since the --state snapshot. */
  readonly unchangedUsers: number;
  /** Plan file: users refused, nothing written, because the app changed since the plan was made. */
  readonly staleUsers: number;
  /** Plan file with `replanStale`: users that had changed and were re-planned against what was read. */
  readonly replannedUsers: number;
  readonly rejectedRows: number;
  readonly failuresWritten: number;
  readonly stateSaved: boolean;
}

/** `i/n` for the checkpoint identity and the state file, or null. */
export function shardText(shard: Shard | undefined): string | null {
  return shard === undefined ? null : `${shard.index}/${shard.count}`;
}
