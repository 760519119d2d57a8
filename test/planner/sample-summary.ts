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
