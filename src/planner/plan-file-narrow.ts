import { type Conversation, LIMITS, type Mode } from '../model.js';
import { ENDPOINTS } from '../tencent/wire.js';
import type { CallCounts } from './calls.js';
import type { JsonValue } from './canonical.js';
import { DEFAULT_CONCURRENCY } from './estimate.js';
import {
  asArrayOf,
  asBoolean,
  asCount,
  asNonNegativeNumber,
  asOneOf,
  asPositiveNumber,
  asRecord,
  asString,
  ShapeError,
} from './narrow.js';
import { assignOperationIds, type DraftOperation } from './operation-id.js';
import { PLAN_FORMAT, PLAN_VERSION, type PlanHeader, type PlanMade, STATS_KEYS } from './plan-file-format.js';
import type { HistogramBucket, PlanSummary, RowRejection, UserChanges, UserRemovals } from './summary.js';
import type { DuplicateGroup, LimitViolation, UserPlan, UserPlanStats } from './types.js';

const HEX64 = /^[0-9a-f]{64}$/;
const MODES = ['merge', 'mirror'] as const;

export function narrowHeader(v: unknown): PlanHeader {
  const o = asRecord(v, '');
  if (o.format !== PLAN_FORMAT) {
    throw new ShapeError(
      'format',
      `expected "${PLAN_FORMAT}" (not a cgsync plan file), got ${JSON.stringify(o.format)}`,
    );
  }
  if (o.version === 1) {
    throw new ShapeError(
      'version',
      `plan version 1 was made by an older cgsync: it does not record the app's state it read, so this cgsync cannot tell whether the app changed since; make the plan again (cgsync plan --out)`,
    );
  }
  if (o.version !== PLAN_VERSION) {
    throw new ShapeError(
      'version',
      `plan version ${JSON.stringify(o.version)} is not supported; this cgsync reads version ${PLAN_VERSION}`,
    );
  }
  return {
    format: PLAN_FORMAT,
    version: PLAN_VERSION,
    mode: asOneOf(o.mode, 'mode', MODES),
    assumeEmpty: asBoolean(o.assumeEmpty, 'assumeEmpty'),
    inputDigest: asString(o.inputDigest, 'inputDigest'),
    // Parsed from JSON, so every value inside is JSON already.
    options: asRecord(o.options, 'options') as { [key: string]: JsonValue },
    ...(o.made === undefined ? {} : { made: narrowMade(o.made) }),
  };
}

function narrowMade(v: unknown): PlanMade {
  const o = asRecord(v, 'made');
  const at = asString(o.at, 'made.at', { nonEmpty: true });
  if (Number.isNaN(Date.parse(at))) throw new ShapeError('made.at', `expected an ISO 8601 time, got "${at}"`);
  const by = asString(o.by, 'made.by');
  if (o.target === undefined) return { at, by };
  const t = asRecord(o.target, 'made.target');
  const sdkAppId = asCount(t.sdkAppId, 'made.target.sdkAppId');
  return { at, by, target: { sdkAppId, host: asString(t.host, 'made.target.host', { nonEmpty: true }) } };
}

function narrowConversation(v: unknown, path: string): Conversation {
  const key = asString(v, path, { pattern: /^[12]:./s });
  return { type: key.charCodeAt(0) === 50 ? 2 : 1, id: key.slice(2) };
}

function narrowDraft(v: unknown, path: string, user: string): DraftOperation {
  const o = asRecord(v, path);
  const kind = asOneOf(o.kind, `${path}.kind`, ['create', 'update', 'delete'] as const);
  const group = asString(o.group, `${path}.group`, { nonEmpty: true });
  if (kind === 'delete') {
    if (o.held === undefined) return { kind, user, group };
    return { kind, user, group, held: asArrayOf(o.held, `${path}.held`, narrowConversation) };
  }
  const add = asArrayOf(o.add, `${path}.add`, narrowConversation);
  if (kind === 'create') return { kind, user, group, add };
  return { kind, user, group, add, remove: asArrayOf(o.remove, `${path}.remove`, narrowConversation) };
}

function narrowViolation(v: unknown, path: string, user: string): LimitViolation {
  const o = asRecord(v, path);
  return {
    user,
    limit: asOneOf(o.limit, `${path}.limit`, ['groups', 'conversations'] as const),
    count: asCount(o.count, `${path}.count`),
    max: asCount(o.max, `${path}.max`),
    message: asString(o.message, `${path}.message`),
  };
}

function narrowStats(v: unknown): UserPlanStats {
  const o = asRecord(v, 'stats');
  const out: Record<string, number> = {};
  for (const k of STATS_KEYS) {
    const optional = k.startsWith('desired');
    if (optional && o[k] === undefined) continue;
    out[k] = asCount(o[k], `stats.${k}`);
  }
  return out as unknown as UserPlanStats;
}

function narrowDuplicate(v: unknown, path: string): DuplicateGroup {
  const o = asRecord(v, path);
  return {
    name: asString(o.name, `${path}.name`),
    groupIds: asArrayOf(o.groupIds, `${path}.groupIds`, asCount),
  };
}

/**
 * The documented limits every operation must keep (what the planner never passes): at most 100 items
 * per create or update and at least one per update, a group name of 1 to 64 UTF-8 bytes, no delete or
 * removal in a merge plan, no operation for a user left out over a limit.
 */
function checkOperationLimits(plan: UserPlan, mode: Mode): void {
  if (plan.violations.length > 0 && plan.operations.length > 0) {
    throw new ShapeError('operations', 'a user over a limit (violations) must have no operations');
  }
  plan.operations.forEach((op, i) => {
    const at = `operations[${i}]`;
    const bytes = Buffer.byteLength(op.group, 'utf8');
    if (bytes > LIMITS.groupNameBytesCreate) {
      throw new ShapeError(`${at}.group`, `${bytes} bytes, the limit is ${LIMITS.groupNameBytesCreate}`);
    }
    if (op.kind === 'delete') {
      if (mode === 'merge') throw new ShapeError(`${at}.kind`, 'a delete in a merge plan');
      return;
    }
    const items = op.add.length + (op.kind === 'update' ? op.remove.length : 0);
    if (items > LIMITS.itemsPerCall) {
      throw new ShapeError(at, `${items} items, the limit is ${LIMITS.itemsPerCall} per call`);
    }
    if (op.kind === 'update') {
      if (items === 0) throw new ShapeError(at, 'an update with no item');
      if (mode === 'merge' && op.remove.length > 0) {
        throw new ShapeError(`${at}.remove`, 'a removal in a merge plan');
      }
    }
  });
}

/**
 * A user line back to a `UserPlan`. Operation ids are recomputed from the content and must match:
 * an edited operation is refused rather than applied under an id the checkpoint knows otherwise.
 * Every operation is checked against the documented limits for `mode`.
 */
export function narrowUserPlan(v: unknown, mode: Mode): UserPlan {
  const o = asRecord(v, '');
  const user = asString(o.user, 'user', { nonEmpty: true });
  const drafts = asArrayOf(o.operations, 'operations', (x, p) => narrowDraft(x, p, user));
  const written = asArrayOf(o.operations, 'operations', (x, p) =>
    asString(asRecord(x, p).id, `${p}.id`, { pattern: /^[0-9a-f]{16}(-[0-9]+)?$/ }),
  );
  const operations = assignOperationIds(drafts);
  operations.forEach((op, i) => {
    if (op.id !== written[i]) {
      throw new ShapeError(
        `operations[${i}].id`,
        `${written[i]} does not match the operation's content (edited plan?)`,
      );
    }
  });
  const plan: UserPlan = {
    user,
    desiredDigest: asString(o.desiredDigest, 'desiredDigest', { pattern: HEX64 }),
    remoteDigest: asString(o.remoteDigest, 'remoteDigest', { pattern: HEX64 }),
    operations,
    violations: asArrayOf(o.violations, 'violations', (x, p) => narrowViolation(x, p, user)),
    stats: narrowStats(o.stats),
  };
  const extras: { downgradedToMerge?: boolean; duplicateGroups?: DuplicateGroup[] } = {};
  if (o.downgradedToMerge !== undefined)
    extras.downgradedToMerge = asBoolean(o.downgradedToMerge, 'downgradedToMerge');
  if (o.duplicateGroups !== undefined) {
    extras.duplicateGroups = asArrayOf(o.duplicateGroups, 'duplicateGroups', narrowDuplicate);
  }
  checkOperationLimits(plan, mode);
  return { ...plan, ...extras };
}

/** The last line, `{"digest": "<sha256 hex of every byte before it>"}`. */
export function narrowDigestLine(v: unknown): string {
  const o = asRecord(v, '');
  if (o.digest === undefined) {
    throw new ShapeError('', 'expected the digest line: the plan file is incomplete (truncated?)');
  }
  return asString(o.digest, 'digest', { pattern: HEX64 });
}

function narrowCalls(v: unknown, path: string): CallCounts {
  const o = asRecord(v, path);
  const out: Record<string, number> = {};
  for (const e of ENDPOINTS) out[e] = asCount(o[e], `${path}.${e}`);
  return out as CallCounts;
}

function narrowBucket(v: unknown, path: string): HistogramBucket {
  const o = asRecord(v, path);
  return {
    label: asString(o.label, `${path}.label`),
    min: asCount(o.min, `${path}.min`),
    max: o.max === null ? null : asCount(o.max, `${path}.max`),
    count: asCount(o.count, `${path}.count`),
  };
}

function narrowRejection(v: unknown, path: string): RowRejection {
  const o = asRecord(v, path);
  const base = {
    line: asCount(o.line, `${path}.line`),
    rule: asString(o.rule, `${path}.rule`),
    message: asString(o.message, `${path}.message`),
  };
  return o.value === undefined ? base : { ...base, value: asString(o.value, `${path}.value`) };
}

function narrowRemovals(v: unknown, path: string): UserRemovals {
  const o = asRecord(v, path);
  return {
    user: asString(o.user, `${path}.user`),
    membershipsRemoved: asCount(o.membershipsRemoved, `${path}.membershipsRemoved`),
    groupsDeleted: asCount(o.groupsDeleted, `${path}.groupsDeleted`),
  };
}

function narrowChanges(v: unknown, path: string): UserChanges {
  const o = asRecord(v, path);
  return {
    user: asString(o.user, `${path}.user`),
    membershipsAdded: asCount(o.membershipsAdded, `${path}.membershipsAdded`),
    membershipsRemoved: asCount(o.membershipsRemoved, `${path}.membershipsRemoved`),
    groupsCreated: asCount(o.groupsCreated, `${path}.groupsCreated`),
    groupsDeleted: asCount(o.groupsDeleted, `${path}.groupsDeleted`),
  };
}

/** The last line (`{"summary": {...}}`) back to a `PlanSummary`, keys in the order they are written. */
export function narrowSummaryLine(v: unknown): PlanSummary {
  const s = asRecord(asRecord(v, '').summary, 'summary');
  const p = (k: string): string => `summary.${k}`;
  const groups = asRecord(s.groups, p('groups'));
  const m = asRecord(s.memberships, p('memberships'));
  const rejected = asRecord(s.rejectedRows, p('rejectedRows'));
  const violations = asRecord(s.violations, p('violations'));
  const removals = asRecord(s.removals, p('removals'));
  return {
    mode: asOneOf(s.mode, p('mode'), MODES),
    assumeEmpty: asBoolean(s.assumeEmpty, p('assumeEmpty')),
    rate: asPositiveNumber(s.rate, p('rate')),
    // Absent from plans made before the estimate counted latency: 0 and the default concurrency.
    latencyMs: s.latencyMs === undefined ? 0 : asNonNegativeNumber(s.latencyMs, p('latencyMs')),
    concurrency: s.concurrency === undefined ? DEFAULT_CONCURRENCY : asCount(s.concurrency, p('concurrency')),
    observedCallsPerSecond:
      s.observedCallsPerSecond === undefined
        ? 0
        : asNonNegativeNumber(s.observedCallsPerSecond, p('observedCallsPerSecond')),
    listLimit: asCount(s.listLimit, p('listLimit')),
    users: asCount(s.users, p('users')),
    usersWithChanges: asCount(s.usersWithChanges, p('usersWithChanges')),
    usersOverLimits: asCount(s.usersOverLimits, p('usersOverLimits')),
    usersDowngraded: asCount(s.usersDowngraded, p('usersDowngraded')),
    usersWithDuplicateGroups: asCount(s.usersWithDuplicateGroups, p('usersWithDuplicateGroups')),
    groups: {
      desired: asCount(groups.desired, p('groups.desired')),
      created: asCount(groups.created, p('groups.created')),
      deleted: asCount(groups.deleted, p('groups.deleted')),
    },
    memberships: {
      desired: asCount(m.desired, p('memberships.desired')),
      added: asCount(m.added, p('memberships.added')),
      removed: asCount(m.removed, p('memberships.removed')),
      unchanged: asCount(m.unchanged, p('memberships.unchanged')),
      examined: asCount(m.examined, p('memberships.examined')),
    },
    calls: narrowCalls(s.calls, p('calls')),
    estimatedSeconds: asNonNegativeNumber(s.estimatedSeconds, p('estimatedSeconds')),
    estimatedReadSeconds:
      s.estimatedReadSeconds === undefined
        ? 0
        : asNonNegativeNumber(s.estimatedReadSeconds, p('estimatedReadSeconds')),
    rejectedRows: {
      count: asCount(rejected.count, p('rejectedRows.count')),
      first: asArrayOf(rejected.first, p('rejectedRows.first'), narrowRejection),
    },
    violations: {
      count: asCount(violations.count, p('violations.count')),
      first: asArrayOf(violations.first, p('violations.first'), (x, q) =>
        narrowViolation(x, q, asString(asRecord(x, q).user, `${q}.user`)),
      ),
    },
    removals: {
      users: asCount(removals.users, p('removals.users')),
      first: asArrayOf(removals.first, p('removals.first'), narrowRemovals),
    },
    largestChanges:
      s.largestChanges === undefined ? [] : asArrayOf(s.largestChanges, p('largestChanges'), narrowChanges),
    groupsPerUser: asArrayOf(s.groupsPerUser, p('groupsPerUser'), narrowBucket),
    conversationsPerUser: asArrayOf(s.conversationsPerUser, p('conversationsPerUser'), narrowBucket),
    ...(s.unreadable === undefined ? {} : { unreadable: narrowUnreadable(s.unreadable, p('unreadable')) }),
    ...(s.longNames === undefined ? {} : { longNames: narrowLongNames(s.longNames, p('longNames')) }),
  };
}

function narrowUnreadable(v: unknown, path: string): NonNullable<PlanSummary['unreadable']> {
  const o = asRecord(v, path);
  return {
    count: asCount(o.count, `${path}.count`),
    first: asArrayOf(o.first, `${path}.first`, (x, q) => {
      const u = asRecord(x, q);
      const code = u.errorCode;
      return {
        user: asString(u.user, `${q}.user`),
        errorCode:
          typeof code === 'number' ? asCount(code, `${q}.errorCode`) : asString(code, `${q}.errorCode`),
        message: asString(u.message, `${q}.message`),
      };
    }),
  };
}

function narrowLongNames(v: unknown, path: string): NonNullable<PlanSummary['longNames']> {
  const o = asRecord(v, path);
  return {
    groups: asCount(o.groups, `${path}.groups`),
    updatedNow: asCount(o.updatedNow, `${path}.updatedNow`),
    first: asArrayOf(o.first, `${path}.first`, (x, q) => {
      const r = asRecord(x, q);
      return {
        user: asString(r.user, `${q}.user`),
        group: asString(r.group, `${q}.group`),
        bytes: asCount(r.bytes, `${q}.bytes`),
        updateNow: asBoolean(r.updateNow, `${q}.updateNow`),
      };
    }),
  };
}
