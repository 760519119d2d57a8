import type { FailedItem, UserWork } from '../executor/apply-user.js';
import type { EndpointScheduler } from '../executor/rate/limiters.js';
import type { ApplyOptions, ProgressSink, RunResult } from '../executor/run-apply.js';
import { type DesiredUser, type Mode, membershipKey } from '../model.js';
import type { Shard } from '../planner/shard.js';
import type { PlanSummary } from '../planner/summary.js';
import type { UserPlan } from '../planner/types.js';
import type { Rejection, ScanSummary } from '../reader/types.js';
import type { ChatApi } from '../tencent/api.js';
import { FailuresWriter } from './failures-file.js';
import type { GuardVerdict, MaxDelete } from './guard.js';
import type { OnPhase } from './phase.js';

export interface ApplyJobOptions {
  /** A CSV file, or a plan file written by `cgsync plan --out`. */
  readonly input: string;
  readonly checkpoint: string;
  readonly mode: Mode;
  readonly assumeEmpty: boolean;
  /** @default 10% */
  readonly maxDelete?: MaxDelete;
  readonly failures?: string;
  readonly state?: string;
  readonly refresh?: boolean;
  /**
   * Plan file: a user whose state changed in the app since the plan was made is re-planned against
   * what is read (each operation reduced to what is still missing) instead of refused.
   * @default false
   */
  readonly replanStale?: boolean;
  readonly shard?: Shard;
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
  /** Called once the plan's size is known (mirror mode and plan files), before the first write. */
  readonly onPlanned?: (summary: PlanSummary | undefined) => ProgressSink | undefined;
  readonly onGuard?: (verdict: GuardVerdict) => void;
  /** Told as each phase begins; a returned promise holds the job until it settles. */
  readonly onPhase?: OnPhase;
  /** Told when a listing looks odd (CompleteFlag and NextStartIndex disagree). */
  readonly onWarning?: (message: string) => void;
}

export interface ApplyJobResult {
  readonly run: RunResult | undefined;
  /** Set when the deletion guard refused the run (nothing was written). */
  readonly refused?: GuardVerdict;
  readonly guard?: GuardVerdict;
  readonly scan?: ScanSummary;
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

/**
 * The `--failures` file: opened on first need (with the input's header when known), closed once.
 * Without a path every write is dropped.
 */
export class FailuresSink {
  readonly #path: string | undefined;
  #writer: FailuresWriter | undefined;
  #closed = false;

  constructor(path: string | undefined) {
    this.#path = path;
  }

  /** Opens the file now, with `header` (the input's; the canonical one when absent). */
  open(header?: readonly string[]): void {
    if (this.#path !== undefined && this.#writer === undefined && !this.#closed) {
      this.#writer = FailuresWriter.create(this.#path, header);
    }
  }

  writeRejected(rejection: Rejection): void {
    this.open(rejection.header);
    this.#writer?.writeRejected(rejection);
  }

  writeFailed(item: FailedItem): void {
    this.open();
    this.#writer?.writeFailed(item);
  }

  /** Drops what was written (the run failed before it had a result): a previous file stays as it was. */
  async discard(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer?.discard();
  }

  /** Ends the file (once), moves it into place and returns the rows written. */
  async close(): Promise<number> {
    if (this.#closed || this.#writer === undefined) return this.#writer?.rows ?? 0;
    this.#closed = true;
    await this.#writer.close();
    return this.#writer.rows;
  }
}

export function workOf(plan: UserPlan, desired?: DesiredUser): UserWork {
  return {
    user: plan.user,
    operations: plan.operations,
    violations: plan.violations,
    ...(desired?.lineOf === undefined ? {} : { lineOf: desired.lineOf }),
  };
}

/** The rows of a user left out for a limit, as failures-file items (the limit's API code). */
export function limitFailures(desired: DesiredUser, plan: UserPlan): FailedItem[] {
  const violation = plan.violations[0];
  if (violation === undefined) return [];
  return userFailures(desired, violation.limit === 'groups' ? 51010 : 51008, violation.message);
}

/**
 * Every row of a user that is not applied at all (over a limit, or its state could not be read), as
 * failures-file items with one code and message: empty groups as `create`, memberships as `add`.
 */
export function userFailures(
  desired: DesiredUser,
  errorCode: number | string,
  message: string,
): FailedItem[] {
  const items: FailedItem[] = [];
  for (const group of desired.groups) {
    const members = group.conversations.length === 0 ? [undefined] : group.conversations;
    for (const conversation of members) {
      const line = desired.lineOf?.get(membershipKey(group.name, conversation));
      items.push({
        user: desired.user,
        group: group.name,
        ...(conversation === undefined ? {} : { conversation }),
        action: conversation === undefined ? 'create' : 'add',
        errorCode,
        message,
        ...(line === undefined ? {} : { line }),
        opId: '',
      });
    }
  }
  return items;
}

/** The executor options of a job: shared limiters, failures to the sink, user outcomes reported. */
export function applyOptions(
  options: ApplyJobOptions,
  failures: FailuresSink,
  onOutcome: ((user: string, outcome: 'done' | 'failed') => void) | undefined,
  progress: ProgressSink | undefined,
): ApplyOptions {
  return {
    limiters: options.scheduler,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(progress === undefined ? {} : { progress }),
    ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
    onFailedItem: (item: FailedItem) => failures.writeFailed(item),
    onUserOutcome: (user: string, outcome: string) => {
      if (outcome === 'done' || outcome === 'already_done') onOutcome?.(user, 'done');
      else if (outcome === 'failed' || outcome === 'skipped') onOutcome?.(user, 'failed');
    },
  };
}
