import { LIMITS } from '../model.js';
import {
  describeEstimate,
  describeMode,
  endpointRows,
  formatCount,
  formatDuration,
  plural,
  revealControls as t,
  totalWrites,
  usersUnchanged,
} from './report-format.js';
import type { HistogramBucket, PlanSummary, UserChanges, UserRemovals } from './summary.js';

const BAR_WIDTH = 40;

/** The plan summary for a terminal: plain text, user data sanitized, no colours. */
export function renderText(summary: PlanSummary): string {
  const s = summary;
  const out: string[] = [];
  out.push(`cgsync plan: ${describeMode(s)}`);
  out.push(
    `  users        ${formatCount(s.users)}: ${formatCount(s.usersWithChanges)} with changes, ` +
      `${formatCount(usersUnchanged(s))} unchanged, ${formatCount(s.usersOverLimits)} over limits`,
  );
  if (s.usersDowngraded > 0) {
    out.push(
      `               ${plural(s.usersDowngraded, 'user')} with rejected rows planned as merge, not mirror`,
    );
  }
  if (s.usersWithDuplicateGroups > 0) {
    out.push(
      `               ${plural(s.usersWithDuplicateGroups, 'user')} with duplicate group names in the app`,
    );
  }
  out.push(
    `  groups       ${formatCount(s.groups.desired)} desired: ${formatCount(s.groups.created)} to create, ` +
      `${formatCount(s.groups.deleted)} to delete`,
  );
  out.push(
    `  memberships  ${formatCount(s.memberships.desired)} desired: ${formatCount(s.memberships.added)} to add, ` +
      `${formatCount(s.memberships.removed)} to remove, ${formatCount(s.memberships.unchanged)} unchanged` +
      (s.assumeEmpty ? '' : ` (${formatCount(s.memberships.examined)} in the app)`),
  );
  out.push(`  calls        ${formatCount(totalWrites(s))} writes`);
  for (const row of endpointRows(s)) {
    out.push(
      `    ${row.endpoint.padEnd(22)} ${formatCount(row.calls).padStart(10)}  ${formatDuration(row.seconds)}`,
    );
  }
  out.push(`  estimated    ${describeEstimate(s)}`);

  if (s.rejectedRows.count > 0) {
    out.push(
      '',
      `Rejected rows: ${formatCount(s.rejectedRows.count)}${shown(s.rejectedRows.first.length, s.rejectedRows.count)}`,
    );
    for (const r of s.rejectedRows.first)
      out.push(`  line ${String(r.line).padEnd(7)} ${t(r.rule).padEnd(22)} ${t(r.message)}`);
  }
  if (s.usersOverLimits > 0) {
    out.push(
      '',
      `Users over limits: ${formatCount(s.usersOverLimits)}${shown(s.violations.first.length, s.violations.count)}`,
    );
    for (const v of s.violations.first) out.push(`  ${t(v.message)}`);
  }
  if (s.unreadable !== undefined) {
    out.push(
      '',
      `Users whose state could not be read (not planned): ${formatCount(s.unreadable.count)}${shown(s.unreadable.first.length, s.unreadable.count)}`,
    );
    for (const u of s.unreadable.first) out.push(`  ${t(u.user)}: ${t(String(u.errorCode))} ${t(u.message)}`);
  }
  if (s.longNames !== undefined) {
    out.push(
      '',
      `Group names over ${LIMITS.groupNameBytesRename} bytes: ${formatCount(s.longNames.groups)}, ${formatCount(s.longNames.updatedNow)} updated by this plan` +
        `${shown(s.longNames.first.length, s.longNames.groups)}`,
      `  (the update page allows ${LIMITS.groupNameBytesRename} bytes in OldGroupName: where the service reads it so, these groups cannot be updated)`,
    );
    for (const r of s.longNames.first) {
      out.push(
        `  ${t(r.user)} / ${t(r.group)} (${r.bytes} bytes): ${r.updateNow ? 'updated by this plan' : 'at risk in a later sync'}`,
      );
    }
  }
  if (s.removals.users > 0) {
    out.push(
      '',
      `Would remove: ${plural(s.memberships.removed, 'membership')} and delete ${plural(s.groups.deleted, 'group')}, ` +
        `from ${plural(s.removals.users, 'user')}${shown(s.removals.first.length, s.removals.users)}`,
    );
    for (const r of s.removals.first) out.push(`  ${t(r.user)}: ${removalText(r)}`);
  }
  if (s.largestChanges.length > 0) {
    out.push(
      '',
      `Largest changes${shown(s.largestChanges.length, s.usersWithChanges)}`,
      ...s.largestChanges.map((c) => `  ${t(c.user)}: ${changeText(c)}`),
    );
  }
  out.push('', 'Groups per user', ...bars(s.groupsPerUser));
  out.push('', 'Conversations per user', ...bars(s.conversationsPerUser));
  return `${out.join('\n')}\n`;
}

function shown(listed: number, total: number): string {
  return listed < total ? ` (first ${formatCount(listed)} of ${formatCount(total)} shown)` : '';
}

/** `-3 memberships, -1 group`: only what is removed (never `-0`). */
function removalText(r: UserRemovals): string {
  const parts: string[] = [];
  if (r.membershipsRemoved > 0) parts.push(`-${plural(r.membershipsRemoved, 'membership')}`);
  if (r.groupsDeleted > 0) parts.push(`-${plural(r.groupsDeleted, 'group')}`);
  return parts.join(', ');
}

/** `+2 groups, +120 memberships, -3 memberships`: only what changes. */
function changeText(c: UserChanges): string {
  const parts: string[] = [];
  if (c.groupsCreated > 0) parts.push(`+${plural(c.groupsCreated, 'group')}`);
  if (c.membershipsAdded > 0) parts.push(`+${plural(c.membershipsAdded, 'membership')}`);
  if (c.membershipsRemoved > 0) parts.push(`-${plural(c.membershipsRemoved, 'membership')}`);
  if (c.groupsDeleted > 0) parts.push(`-${plural(c.groupsDeleted, 'group')}`);
  return parts.join(', ');
}

function bars(buckets: readonly HistogramBucket[]): string[] {
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const width = Math.max(...buckets.map((b) => b.label.length));
  return buckets.map((b) => {
    const n = b.count === 0 ? 0 : Math.max(1, Math.round((b.count / max) * BAR_WIDTH));
    return `  ${b.label.padStart(width)} │${'█'.repeat(n)} ${formatCount(b.count)}`;
  });
}
