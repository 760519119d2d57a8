import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPlanHeader, readPlanFile, writePlanFile } from '../../src/planner/plan-file.js';
import { planUser } from '../../src/planner/plan-user.js';
import { SummaryBuilder } from '../../src/planner/summary.js';
import type { UserPlan } from '../../src/planner/types.js';
import { desiredUser, peers, remoteUser } from './fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-plan-long-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('reads back a plan whose header, user and summary lines are each longer than the 64 KiB read chunk', async () => {
  const header = createPlanHeader({
    mode: 'merge',
    assumeEmpty: false,
    options: { note: 'h'.repeat(150_000) },
  });
  const opts = { mode: 'merge', assumeEmpty: false } as const;
  // Conversation ids of 300 characters: 300 of them make a user line of about 95 KB.
  const plans: UserPlan[] = [
    planUser(desiredUser('a', { g: peers('p'.repeat(300), 300) }), remoteUser('a', []), opts),
    planUser(desiredUser('b', { g: peers('q', 2) }), remoteUser('b', []), opts),
  ];
  const builder = new SummaryBuilder({ ...opts, listLimit: 300 });
  for (const p of plans) builder.addUser(p);
  for (let i = 0; i < 300; i++) {
    builder.addRejection({ line: i + 2, rule: 'r', message: 'm'.repeat(290), value: 'v'.repeat(290) });
  }
  const path = join(dir, 'long.plan');
  await writePlanFile(path, header, plans, builder.result());
  const lengths = (await readFile(path, 'utf8')).split('\n').map((l) => l.length);
  expect(lengths[0]).toBeGreaterThan(2 * 65_536);
  expect(lengths[1]).toBeGreaterThan(65_536);
  expect(lengths.at(-3)).toBeGreaterThan(2 * 65_536);

  const file = await readPlanFile(path);
  await file.validate();
  expect(file.header.options).toEqual(header.options);
  expect(file.summary).toEqual(builder.result());
  const users: UserPlan[] = [];
  for await (const u of file.users) users.push(u);
  expect(users).toEqual(plans);
});
