import { LIMITS, type Mode } from '../model.js';
import { BoundedSortedList } from './bounded-list.js';
import { addUserCalls, type CallCounts, emptyCallCounts } from './calls.js';
import { compareCodeUnits } from './canonical.js';
import { DEFAULT_CONCURRENCY, estimateApply } from './estimate.js';
import {
  changeSize,
  type HistogramBucket,
  type PlanSummary,
  type RowRejection,
  type UnreadableUser,
  type UserChanges,
  type UserRemovals,
} from './summary-types.js';
import type { CountedPlan, LimitViolation, NameRisk } from './types.js';

export type {
  HistogramBucket,
  PlanSummary,
  RowRejection,
  UnreadableUser,
  UserChanges,
  UserRemovals,
} from './summary-types.js';
export { changeSize } from './summary-types.js';

export interface SummaryOptions {
  readonly mode: Mode;
  readonly assumeEmpty: boolean;
  /**
   * Calls per second per endpoint, for the duration estimate.
   * @default 200
   */
  readonly rate?: number;
  /**
   * Time of one call in ms, for the duration estimate (see {@link SummaryBuilder.setLatency}).
   * @default 0
   */
  readonly latencyMs?: number;
  /**
   * Users in flight while writing (apply's `--concurrency`), for the duration estimate.
   * @default 60
   */
  readonly concurrency?: number;
  /**
   * How many rejected rows, violations and users with removals are listed (the totals are always kept).
   * @default 20
   */
  readonly listLimit?: number;
}

const GROUP_BUCKETS: readonly [number, number | null][] = [
  ...Array.from({ length: LIMITS.groupsPerUser + 1 }, (_, i): [number, number] => [i, i]),
  [LIMITS.groupsPerUser + 1, null],
];
const CONVERSATION_BUCKETS: readonly [number, number | null][] = [
  [0, 0],
  [1, 10],
  [11, 50],
  [51, 100],
  [101, 250],
  [251, 500],
  [501, 750],
  [751, 1000],
  [1001, null],
];

/** Accumulates a {@link PlanSummary}; `addUser` for every user plan, `addRejection` for every rejected row. */
export class SummaryBuilder {
  readonly #options: { -readonly [K in keyof SummaryOptions]-?: NonNullable<SummaryOptions[K]> };
  readonly #calls = emptyCallCounts();
  readonly #rejections: BoundedSortedList<RowRejection>;
  readonly #violations: BoundedSortedList<LimitViolation>;
  readonly #removals: BoundedSortedList<UserRemovals>;
  readonly #largest: BoundedSortedList<UserChanges>;
  readonly #unreadable: BoundedSortedList<UnreadableUser>;
  readonly #longNames: BoundedSortedList<NameRisk>;
  #unreadableCount = 0;
  /** 0: not measured. */
  #observedRate = 0;
  #longNameCount = 0;
  #longNamesUpdated = 0;
  readonly #groupHistogram = new Array<number>(GROUP_BUCKETS.length).fill(0);
  readonly #conversationHistogram = new Array<number>(CONVERSATION_BUCKETS.length).fill(0);
  #rejectedRows = 0;
  #violationCount = 0;
  #removalUsers = 0;
  #users = 0;
  #usersWithChanges = 0;
  #usersOverLimits = 0;
  #usersDowngraded = 0;
  #usersWithDuplicateGroups = 0;
  #groups = { desired: 0, created: 0, deleted: 0 };
  #memberships = { desired: 0, added: 0, removed: 0, unchanged: 0, examined: 0 };

  constructor(options: SummaryOptions) {
    const rate = options.rate ?? LIMITS.callsPerSecond;
    const listLimit = options.listLimit ?? 20;
    if (!(Number.isFinite(rate) && rate > 0)) {
      throw new RangeError(`Expected \`rate\` to be a number above 0, got \`${rate}\` (${typeof rate})`);
    }
    if (!Number.isSafeInteger(listLimit) || listLimit < 0) {
      throw new RangeError(`Expected \`listLimit\` to be a whole number from 0 and up, got \`${listLimit}\``);
    }
    const latencyMs = options.latencyMs ?? 0;
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    if (!(Number.isFinite(latencyMs) && latencyMs >= 0)) {
      throw new RangeError(`Expected \`latencyMs\` to be a number from 0 and up, got \`${latencyMs}\``);
    }
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new RangeError(
        `Expected \`concurrency\` to be a whole number from 1 and up, got \`${concurrency}\``,
      );
    }
    this.#options = {
      mode: options.mode,
      assumeEmpty: options.assumeEmpty,
      rate,
      listLimit,
      latencyMs,
      concurrency,
    };
    this.#rejections = new BoundedSortedList(
      listLimit,
      (a, b) => a.line - b.line || compareCodeUnits(a.rule, b.rule),
    );
    this.#violations = new BoundedSortedList(
      listLimit,
      (a, b) => compareCodeUnits(a.user, b.user) || compareCodeUnits(a.limit, b.limit),
    );
    // Biggest first: the users a person should look at before a destructive run.
    this.#removals = new BoundedSortedList(
      listLimit,
      (a, b) =>
        b.membershipsRemoved - a.membershipsRemoved ||
        b.groupsDeleted - a.groupsDeleted ||
        compareCodeUnits(a.user, b.user),
    );
    this.#largest = new BoundedSortedList(
      listLimit,
      (a, b) => changeSize(b) - changeSize(a) || compareCodeUnits(a.user, b.user),
    );
    this.#unreadable = new BoundedSortedList(listLimit, (a, b) => compareCodeUnits(a.user, b.user));
    this.#longNames = new BoundedSortedList(
      listLimit,
      (a, b) => compareCodeUnits(a.user, b.user) || compareCodeUnits(a.group, b.group),
    );
  }

  /** The time of one call, once measured (the plan's reads), for the duration estimate. */
  setLatency(latencyMs: number): void {
    if (!(Number.isFinite(latencyMs) && latencyMs >= 0)) {
      throw new RangeError(`Expected \`latencyMs\` to be a number from 0 and up, got \`${latencyMs}\``);
    }
    this.#options.latencyMs = latencyMs;
  }

  /**
   * The calls per second this machine reached with the service while the plan read (the plan's own
   * reads): the estimate never assumes more. @see EstimateOptions.observedRate
   */
  setObservedRate(callsPerSecond: number): void {
    if (!(Number.isFinite(callsPerSecond) && callsPerSecond > 0)) {
      throw new RangeError(`Expected \`callsPerSecond\` to be a number above 0, got \`${callsPerSecond}\``);
    }
    this.#observedRate = callsPerSecond;
  }

  /** A user whose state could not be read: listed apart, not planned, not in `users`. */
  addUnreadable(user: UnreadableUser): void {
    this.#unreadableCount += 1;
    this.#unreadable.add({ user: user.user, errorCode: user.errorCode, message: clip(user.message) });
  }

  #addNameRisk(risk: NameRisk): void {
    this.#longNameCount += 1;
    if (risk.updateNow) this.#longNamesUpdated += 1;
    this.#longNames.add(risk);
  }

  addUser(plan: CountedPlan): void {
    const s = plan.stats;
    this.#users += 1;
    if (plan.operations.length > 0) this.#usersWithChanges += 1;
    if (plan.violations.length > 0) this.#usersOverLimits += 1;
    if (plan.downgradedToMerge === true) this.#usersDowngraded += 1;
    if ((plan.duplicateGroups?.length ?? 0) > 0) this.#usersWithDuplicateGroups += 1;
    for (const v of plan.violations) {
      this.#violationCount += 1;
      this.#violations.add(v);
    }
    for (const risk of plan.nameRisks ?? []) this.#addNameRisk(risk);
    this.#groups.desired += s.desiredGroups ?? 0;
    this.#groups.created += s.groupsCreated;
    this.#groups.deleted += s.groupsDeleted;
    this.#memberships.desired += s.desiredMemberships ?? 0;
    this.#memberships.added += s.membershipsAdded;
    this.#memberships.removed += s.membershipsRemoved;
    this.#memberships.unchanged += s.membershipsUnchanged;
    this.#memberships.examined += s.membershipsExamined;
    if (s.membershipsRemoved > 0 || s.groupsDeleted > 0) {
      this.#removalUsers += 1;
      this.#removals.add({
        user: plan.user,
        membershipsRemoved: s.membershipsRemoved,
        groupsDeleted: s.groupsDeleted,
      });
    }
    if (plan.operations.length > 0) {
      this.#largest.add({
        user: plan.user,
        membershipsAdded: s.membershipsAdded,
        membershipsRemoved: s.membershipsRemoved,
        groupsCreated: s.groupsCreated,
        groupsDeleted: s.groupsDeleted,
      });
    }
    addUserCalls(this.#calls, plan, { readsState: !this.#options.assumeEmpty });
    bump(this.#groupHistogram, GROUP_BUCKETS, s.desiredGroups ?? 0);
    bump(this.#conversationHistogram, CONVERSATION_BUCKETS, s.desiredConversations ?? 0);
  }

  /**
   * Adds the users of another builder's result (e.g. a part of the users planned on another thread)
   * with the same mode. Its rejected rows are not added: rejections are the reader's, added once.
   */
  addUsersOf(part: PlanSummary): void {
    if (part.mode !== this.#options.mode || part.assumeEmpty !== this.#options.assumeEmpty) {
      throw new TypeError('SummaryBuilder.addUsersOf: the part was planned with other options');
    }
    this.#users += part.users;
    this.#usersWithChanges += part.usersWithChanges;
    this.#usersOverLimits += part.usersOverLimits;
    this.#usersDowngraded += part.usersDowngraded;
    this.#usersWithDuplicateGroups += part.usersWithDuplicateGroups;
    this.#violationCount += part.violations.count;
    for (const v of part.violations.first) this.#violations.add(v);
    this.#removalUsers += part.removals.users;
    for (const r of part.removals.first) this.#removals.add(r);
    for (const c of part.largestChanges) this.#largest.add(c);
    if (part.unreadable !== undefined) {
      this.#unreadableCount += part.unreadable.count;
      for (const u of part.unreadable.first) this.#unreadable.add(u);
    }
    if (part.longNames !== undefined) {
      this.#longNameCount += part.longNames.groups;
      this.#longNamesUpdated += part.longNames.updatedNow;
      for (const r of part.longNames.first) this.#longNames.add(r);
    }
    const groups = this.#groups;
    groups.desired += part.groups.desired;
    groups.created += part.groups.created;
    groups.deleted += part.groups.deleted;
    const memberships = this.#memberships;
    for (const key of ['desired', 'added', 'removed', 'unchanged', 'examined'] as const) {
      memberships[key] += part.memberships[key];
    }
    for (const key of Object.keys(this.#calls) as (keyof CallCounts)[]) this.#calls[key] += part.calls[key];
    part.groupsPerUser.forEach((bucket, i) => {
      this.#groupHistogram[i] = (this.#groupHistogram[i] ?? 0) + bucket.count;
    });
    part.conversationsPerUser.forEach((bucket, i) => {
      this.#conversationHistogram[i] = (this.#conversationHistogram[i] ?? 0) + bucket.count;
    });
  }

  /** Extra fields (the reader's `record`, `header`, `user`) are not kept; long texts are clipped. */
  addRejection(rejection: RowRejection): void {
    this.#rejectedRows += 1;
    const line = rejection.line;
    const rule = clip(rejection.rule);
    const message = clip(rejection.message);
    this.#rejections.add(
      rejection.value === undefined
        ? { line, rule, message }
        : { line, rule, message, value: clip(rejection.value) },
    );
  }

  /** The summary so far (the builder can go on accumulating). */
  result(): PlanSummary {
    const o = this.#options;
    const calls = { ...this.#calls };
    const estimate = estimateApply(calls, {
      ...o,
      ...(this.#observedRate > 0 ? { observedRate: this.#observedRate } : {}),
    });
    return {
      mode: o.mode,
      assumeEmpty: o.assumeEmpty,
      rate: o.rate,
      latencyMs: o.latencyMs,
      concurrency: o.concurrency,
      observedCallsPerSecond: this.#observedRate,
      listLimit: o.listLimit,
      users: this.#users,
      usersWithChanges: this.#usersWithChanges,
      usersOverLimits: this.#usersOverLimits,
      usersDowngraded: this.#usersDowngraded,
      usersWithDuplicateGroups: this.#usersWithDuplicateGroups,
      groups: { ...this.#groups },
      memberships: { ...this.#memberships },
      calls,
      estimatedSeconds: estimate.seconds,
      estimatedReadSeconds: estimate.readSeconds,
      rejectedRows: { count: this.#rejectedRows, first: this.#rejections.toArray() },
      violations: { count: this.#violationCount, first: this.#violations.toArray() },
      removals: { users: this.#removalUsers, first: this.#removals.toArray() },
      largestChanges: this.#largest.toArray(),
      groupsPerUser: histogram(this.#groupHistogram, GROUP_BUCKETS),
      conversationsPerUser: histogram(this.#conversationHistogram, CONVERSATION_BUCKETS),
      ...(this.#unreadableCount === 0
        ? {}
        : { unreadable: { count: this.#unreadableCount, first: this.#unreadable.toArray() } }),
      ...(this.#longNameCount === 0
        ? {}
        : {
            longNames: {
              groups: this.#longNameCount,
              updatedNow: this.#longNamesUpdated,
              first: this.#longNames.toArray(),
            },
          }),
    };
  }
}

/** Longest text kept from a rejection, so one huge cell cannot bloat the summary. */
const MAX_TEXT = 300;

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}

function bump(counts: number[], buckets: readonly [number, number | null][], value: number): void {
  const i = buckets.findIndex(([min, max]) => value >= min && (max === null || value <= max));
  if (i >= 0) counts[i] = (counts[i] ?? 0) + 1;
}

function histogram(
  counts: readonly number[],
  buckets: readonly [number, number | null][],
): HistogramBucket[] {
  return buckets.map(([min, max], i) => ({
    label: max === null ? `${min}+` : min === max ? `${min}` : `${min}–${max}`,
    min,
    max,
    count: counts[i] ?? 0,
  }));
}
