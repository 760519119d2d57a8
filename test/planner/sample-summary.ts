import type { Conversation } from '../../src/model.js';
import { planUser } from '../../src/planner/plan-user.js';
import { type PlanSummary, SummaryBuilder } from '../../src/planner/summary.js';
import type { PlanOptions } from '../../src/planner/types.js';
import { c2c, desiredUser, grp, peers, remoteUser } from './fixtures.js';

/** Hostile user IDs: markup, Markdown table breakers, control characters, right-to-left override. */
export const NASTY_USERS = [
  '<script>alert(1)</script>',
  'pipe|user`tick`',
  'line\nbreak\u001b[31m',
  'rtl\u202egnp.exe',
];

/**
 * A realistic mirror-mode summary: a few hundred users with a spread of group and conversation
 * counts, some over limits, some with rejected rows, some losing memberships, hostile names.
 */
export function sampleSummary(options: { listLimit?: number } = {}): PlanSummary {
  const mode: PlanOptions = { mode: 'mirror', assumeEmpty: false };
  const builder = new SummaryBuilder({ ...mode, listLimit: options.listLimit ?? 8 });
  for (let i = 0; i < 240; i++) {
    const user = i < NASTY_USERS.length ? (NASTY_USERS[i] as string) : `user${String(i).padStart(3, '0')}`;
    const groupCount = i % 37 === 5 || i === 1 || i === 2 ? 21 : (i * 7) % 9;
    const size = i % 53 === 7 ? 1100 : (i * 13) % 160;
    const groups: Record<string, Conversation[]> = {};
    for (let g = 0; g < groupCount; g++)
      groups[`group ${g}`] = g === 0 ? peers('p', size) : [c2c(`p${g}`), grp(`@TGS#${g}`)];
    const remote =
      i % 3 === 0
        ? remoteUser(user, [
            // The first hostile name loses the most: it heads the removals (biggest first).
            ['group 0', peers('old', i === 0 ? 150 : (i % 5) * 3)],
            ['retired', [c2c('x')]],
          ])
        : undefined;
    builder.addUser(planUser(desiredUser(user, groups, { hasRejectedRows: i % 41 === 3 }), remote, mode));
  }
  builder.addRejection({
    line: 12,
    rule: 'group-name-too-long',
    message: 'line 12: GroupName is 68 bytes, the limit is 64',
    value: '<b>very long name</b>',
  });
  builder.addRejection({
    line: 7,
    rule: 'type-invalid',
    message: 'line 7: Type must be 1, 2, c2c or group, got "3"',
    value: '3',
  });
  builder.addRejection({
    line: 30,
    rule: 'peer-missing',
    message: 'line 30: Type 1 needs To_Account | got `` (empty)',
  });
  return builder.result();
}

/**
 * A small summary written out by hand that reaches every part of the reports: each optional section,
 * lists cut short and lists shown whole, zero and non-zero counts, a hostile user ID. The reports of it
 * are checked character for character (test/planner/report-exact.test.ts).
 */
export function everySection(): PlanSummary {
  return {
    mode: 'mirror',
    assumeEmpty: false,
    rate: 200,
    latencyMs: 50,
    concurrency: 60,
    observedCallsPerSecond: 180.4,
    listLimit: 2,
    users: 1234,
    usersWithChanges: 3,
    usersOverLimits: 1,
    usersDowngraded: 1,
    usersWithDuplicateGroups: 2,
    groups: { desired: 12, created: 2, deleted: 2 },
    memberships: { desired: 1500, added: 121, removed: 3, unchanged: 7, examined: 10 },
    calls: {
      create_contact_group: 2,
      update_contact_group: 3000,
      del_contact_group: 1,
      get_contact_group: 4,
      search_contact_group: 0,
    },
    estimatedSeconds: 75,
    estimatedReadSeconds: 5,
    rejectedRows: {
      count: 3,
      first: [
        {
          line: 7,
          rule: 'type-invalid',
          message: 'line 7: Type must be 1, 2, c2c or group, got "3"',
          value: '3',
        },
        { line: 12, rule: 'peer-missing', message: 'line 12: Type 1 needs To_Account' },
      ],
    },
    violations: {
      count: 1,
      first: [
        {
          user: 'carol',
          limit: 'groups',
          count: 21,
          max: 20,
          message: 'user carol has 21 groups, the limit is 20',
        },
      ],
    },
    removals: {
      users: 3,
      first: [
        { user: 'bob', membershipsRemoved: 2, groupsDeleted: 1 },
        { user: 'a|b', membershipsRemoved: 1, groupsDeleted: 0 },
        { user: 'carol', membershipsRemoved: 0, groupsDeleted: 1 },
      ],
    },
    largestChanges: [
      { user: 'dan', membershipsAdded: 120, membershipsRemoved: 0, groupsCreated: 0, groupsDeleted: 0 },
      { user: 'bob', membershipsAdded: 0, membershipsRemoved: 2, groupsCreated: 1, groupsDeleted: 1 },
    ],
    groupsPerUser: [
      { label: '0', min: 0, max: 0, count: 0 },
      { label: '1', min: 1, max: 1, count: 1230 },
      { label: '21+', min: 21, max: null, count: 4 },
    ],
    conversationsPerUser: [
      { label: '0', min: 0, max: 0, count: 1 },
      { label: '1–10', min: 1, max: 10, count: 1233 },
    ],
    unreadable: {
      count: 2,
      first: [{ user: 'erin', errorCode: 70107, message: 'user not found\u001b[0m' }],
    },
    longNames: {
      groups: 3,
      updatedNow: 1,
      first: [
        { user: 'alice', group: 'a long <name>', bytes: 35, updateNow: true },
        { user: 'bob', group: 'another long name', bytes: 40, updateNow: false },
      ],
    },
  };
}
