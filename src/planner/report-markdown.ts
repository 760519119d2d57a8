import { LIMITS } from '../model.js';
import {
  describeEstimate,
  describeMode,
  endpointRows,
  formatCount,
  formatDuration,
  headerFacts,
  escapeMarkdown as md,
  type ReportHeader,
  signedCount,
  totalWrites,
  usersUnchanged,
} from './report-format.js';
import type { HistogramBucket, PlanSummary } from './summary.js';

/**
 * The plan summary as Markdown (GitHub-flavoured tables); user data escaped. With `header`, the input,
 * its digest, the target, the time and the tool come first.
 */
export function renderMarkdown(summary: PlanSummary, header?: ReportHeader): string {
  const s = summary;
  const out: string[] = [];
  out.push('# cgsync plan', '');
  if (header !== undefined) {
    out.push('| | |', '|---|---|', ...headerFacts(header).map(([k, v]) => `| ${k} | ${md(v)} |`), '');
  }
  out.push(`${md(describeMode(s))}.`, '');
  out.push(
    '| | total | details |',
    '|---|---:|---|',
    `| users | ${formatCount(s.users)} | ${formatCount(s.usersWithChanges)} with changes, ${formatCount(usersUnchanged(s))} unchanged, ${formatCount(s.usersOverLimits)} over limits, ${formatCount(s.usersDowngraded)} downgraded to merge, ${formatCount(s.usersWithDuplicateGroups)} with duplicate group names |`,
    `| groups | ${formatCount(s.groups.desired)} | ${formatCount(s.groups.created)} to create, ${formatCount(s.groups.deleted)} to delete |`,
    `| memberships | ${formatCount(s.memberships.desired)} | ${formatCount(s.memberships.added)} to add, ${formatCount(s.memberships.removed)} to remove, ${formatCount(s.memberships.unchanged)} unchanged, ${formatCount(s.memberships.examined)} in the app |`,
    `| writes | ${formatCount(totalWrites(s))} | estimated ${md(describeEstimate(s))} |`,
    '',
  );
  out.push('## Calls per endpoint', '', '| endpoint | calls | time at the rate |', '|---|---:|---:|');
  for (const row of endpointRows(s)) {
    out.push(`| \`${row.endpoint}\` | ${formatCount(row.calls)} | ${formatDuration(row.seconds)} |`);
  }
  out.push(
    '',
    'Endpoints run in parallel, each at the rate; the calls in flight per latency cap them too, and in mirror mode every user is read before the first write.',
    '',
  );

  out.push(`## Rejected rows: ${formatCount(s.rejectedRows.count)}`, '');
  if (s.rejectedRows.first.length > 0) {
    out.push(
      ...listed(s.rejectedRows.first.length, s.rejectedRows.count),
      '| line | rule | reason |',
      '|---:|---|---|',
    );
    for (const r of s.rejectedRows.first) out.push(`| ${r.line} | ${md(r.rule)} | ${md(r.message)} |`);
    out.push('');
  }
  out.push(`## Users over limits: ${formatCount(s.usersOverLimits)}`, '');
  if (s.violations.first.length > 0) {
    out.push(
      ...listed(s.violations.first.length, s.violations.count),
      '| user | limit | count | max | message |',
      '|---|---|---:|---:|---|',
    );
    for (const v of s.violations.first) {
      out.push(
        `| ${md(v.user)} | ${v.limit} | ${formatCount(v.count)} | ${formatCount(v.max)} | ${md(v.message)} |`,
      );
    }
    out.push('');
  }
  if (s.unreadable !== undefined) {
    out.push(
      `## Users whose state could not be read: ${formatCount(s.unreadable.count)}`,
      '',
      'Not planned and not counted above: the service refused to give their groups (50001: not imported).',
      '',
      ...listed(s.unreadable.first.length, s.unreadable.count),
      '| user | code | message |',
      '|---|---|---|',
    );
    for (const u of s.unreadable.first)
      out.push(`| ${md(u.user)} | ${md(String(u.errorCode))} | ${md(u.message)} |`);
    out.push('');
  }
  if (s.longNames !== undefined) {
    out.push(
      `## Group names over ${LIMITS.groupNameBytesRename} bytes: ${formatCount(s.longNames.groups)}`,
      '',
      `The update page allows ${LIMITS.groupNameBytesRename} bytes in OldGroupName, which every update names: where the service reads it so, these groups cannot be updated. ${formatCount(s.longNames.updatedNow)} are updated by this plan; the others are at risk in a later sync. \`--group-name-limit ${LIMITS.groupNameBytesRename}\` rejects such rows up front.`,
      '',
      ...listed(s.longNames.first.length, s.longNames.groups),
      '| user | group | bytes | update |',
      '|---|---|---:|---|',
    );
    for (const r of s.longNames.first) {
      out.push(
        `| ${md(r.user)} | ${md(r.group)} | ${r.bytes} | ${r.updateNow ? 'in this plan' : 'at risk later'} |`,
      );
    }
    out.push('');
  }
  if (s.mode === 'mirror' || s.removals.users > 0) {
    out.push(`## Removals (mirror): ${formatCount(s.removals.users)} users`, '');
    if (s.removals.first.length > 0) {
      out.push(
        ...listed(s.removals.first.length, s.removals.users),
        '| user | memberships removed | groups deleted |',
        '|---|---:|---:|',
      );
      for (const r of s.removals.first) {
        out.push(
          `| ${md(r.user)} | ${formatCount(r.membershipsRemoved)} | ${formatCount(r.groupsDeleted)} |`,
        );
      }
      out.push('');
    }
  }
  if (s.largestChanges.length > 0) {
    out.push(
      `## Largest changes: ${formatCount(s.usersWithChanges)} users with changes`,
      '',
      ...listed(s.largestChanges.length, s.usersWithChanges),
      '| user | groups created | memberships added | memberships removed | groups deleted |',
      '|---|---:|---:|---:|---:|',
      ...s.largestChanges.map(
        (c) =>
          `| ${md(c.user)} | ${signedCount(c.groupsCreated, '+')} | ${signedCount(c.membershipsAdded, '+')} | ${signedCount(c.membershipsRemoved, '−')} | ${signedCount(c.groupsDeleted, '−')} |`,
      ),
      '',
    );
  }
  out.push('## Groups per user', '', ...histogram(s.groupsPerUser, 'groups'), '');
  out.push('## Conversations per user', '', ...histogram(s.conversationsPerUser, 'conversations'));
  return `${out.join('\n')}\n`;
}

function listed(n: number, total: number): string[] {
  return n < total ? [`First ${formatCount(n)} of ${formatCount(total)}:`, ''] : [];
}

function histogram(buckets: readonly HistogramBucket[], what: string): string[] {
  return [
    `| ${what} | users |`,
    '|---:|---:|',
    ...buckets.map((b) => `| ${b.label} | ${formatCount(b.count)} |`),
  ];
}
