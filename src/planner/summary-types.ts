import type { Mode } from '../model.js';
import type { CallCounts } from './calls.js';
import type { LimitViolation, NameRisk } from './types.js';

/** A rejected CSV row as the reader reports it. */
export interface RowRejection {
  /** 1-based physical line where the row starts. */
  readonly line: number;
  /** Stable code of the broken rule. */
  readonly rule: string;
  readonly message: string;
  readonly value?: string;
}

/** One bar of a histogram: users whose count is within [min, max] (`max` null: no upper bound). */
export interface HistogramBucket {
  readonly label: string;
  readonly min: number;
  readonly max: number | null;
  readonly count: number;
}

/** What a mirror run would take away from one user. */
export interface UserRemovals {
  readonly user: string;
  readonly membershipsRemoved: number;
  readonly groupsDeleted: number;
}

/** What a plan changes for one user (the "largest changes" list). */
export interface UserChanges {
  readonly user: string;
  readonly membershipsAdded: number;
  readonly membershipsRemoved: number;
  readonly groupsCreated: number;
  readonly groupsDeleted: number;
}

/** The size of a user's changes: memberships added and removed, groups created and deleted. */
export function changeSize(c: Omit<UserChanges, 'user'>): number {
  return c.membershipsAdded + c.membershipsRemoved + c.groupsCreated + c.groupsDeleted;
}

/** A user whose state the service refused to give (not imported: 50001, …): not planned. */
export interface UnreadableUser {
  readonly user: string;
  readonly errorCode: number | string;
  readonly message: string;
}

/**
 * The totals of a plan, accumulated user by user in bounded memory: counts, histograms, and the
 * first `listLimit` rejections (by line), violations and removals (by user ID) with their totals.
 * Independent of the order users arrive in. Plain JSON.
 */
export interface PlanSummary {
  readonly mode: Mode;
  readonly assumeEmpty: boolean;
  /** Calls per second per endpoint used for `estimatedSeconds`. */
  readonly rate: number;
  /** Time of one call used for `estimatedSeconds` (measured from the plan's reads, or `--latency`). */
  readonly latencyMs: number;
  /** Users in flight used for `estimatedSeconds` (apply's `--concurrency`). */
  readonly concurrency: number;
  /** Calls per second the plan's own reads reached (a cap of the estimate); 0 when not measured. */
  readonly observedCallsPerSecond: number;
  readonly listLimit: number;
  readonly users: number;
  /** Users with at least one operation. */
  readonly usersWithChanges: number;
  readonly usersOverLimits: number;
  /** Mirror asked for, merge planned because of rejected rows. */
  readonly usersDowngraded: number;
  readonly usersWithDuplicateGroups: number;
  readonly groups: { readonly desired: number; readonly created: number; readonly deleted: number };
  readonly memberships: {
    readonly desired: number;
    readonly added: number;
    readonly removed: number;
    readonly unchanged: number;
    readonly examined: number;
  };
  /** Calls per endpoint; get_contact_group is an estimate (pages of 100) and 0 with assume-empty. */
  readonly calls: CallCounts;
  /**
   * How long apply should take: endpoints in parallel at `rate`, capped by the calls in flight per
   * latency; in mirror mode (reading the app) the read phase, then the write phase. Retries not counted.
   */
  readonly estimatedSeconds: number;
  /** Of `estimatedSeconds`, mirror's read phase (before the first write); 0 otherwise. */
  readonly estimatedReadSeconds: number;
  readonly rejectedRows: { readonly count: number; readonly first: readonly RowRejection[] };
  /** `count` counts violations (a user may break both limits); `first` is ordered by user, then limit. */
  readonly violations: { readonly count: number; readonly first: readonly LimitViolation[] };
  /** Users a mirror plan takes memberships or groups away from; `first`: the most removed first. */
  readonly removals: { readonly users: number; readonly first: readonly UserRemovals[] };
  /** The users with the largest changes ({@link changeSize}), largest first; `usersWithChanges` in all. */
  readonly largestChanges: readonly UserChanges[];
  /** Desired groups per user. */
  readonly groupsPerUser: readonly HistogramBucket[];
  /** Desired distinct conversations per user. */
  readonly conversationsPerUser: readonly HistogramBucket[];
  /** Users whose state could not be read, not counted in `users` and not planned. Present when any. */
  readonly unreadable?: { readonly count: number; readonly first: readonly UnreadableUser[] };
  /**
   * Groups named over 32 bytes: under the update page's reading of `OldGroupName` no update can
   * name them. `updatedNow`: how many this plan updates; the others are at risk in a later sync.
   * Present when any.
   */
  readonly longNames?: {
    readonly groups: number;
    readonly updatedNow: number;
    readonly first: readonly NameRisk[];
  };
}
