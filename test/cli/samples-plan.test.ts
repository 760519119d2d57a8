import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { readUsers } from '../../src/reader/index.js';
import { memoryIo } from '../helpers/io.js';

const SAMPLES = join(process.cwd(), 'samples');

/** What each sample is for, as its README says: a new sample without expectations fails here. */
const EXPECTED: Record<string, { users: number; overLimits: number; rejected: number }> = {
  'bad-rows.csv': { users: 5, overLimits: 0, rejected: 9 },
  'basic.csv': { users: 5, overLimits: 0, rejected: 0 },
  'demo.csv': { users: 300, overLimits: 0, rejected: 0 },
  'limits.csv': { users: 5, overLimits: 2, rejected: 1 },
  'short-header.csv': { users: 3, overLimits: 0, rejected: 0 },
};

/** The fewest writes into an empty app, counted independently of the planner: per group max(1, ⌈n/100⌉). */
async function fewestWrites(path: string): Promise<{ create: number; update: number }> {
  let create = 0;
  let update = 0;
  for await (const user of readUsers(path)) {
    const distinct = new Set(user.groups.flatMap((g) => g.conversations.map((c) => `${c.type}:${c.id}`)));
    if (user.groups.length > 20 || distinct.size > 1000) continue; // left out whole
    for (const g of user.groups) {
      create += 1;
      update += Math.max(0, Math.ceil(g.conversations.length / 100) - 1);
    }
  }
  return { create, update };
}

describe('every sample is planned', () => {
  const files = readdirSync(SAMPLES).filter((f) => f.endsWith('.csv'));

  it('has expectations for every sample', () => {
    expect(files.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(files)('%s: users, limits, rejected rows and the fewest calls', async (file) => {
    const io = memoryIo({});
    expect(await runCli(['plan', join(SAMPLES, file), '--assume-empty', '--json'], io)).toBe(0);
    const summary = JSON.parse(io.out());
    const expected = EXPECTED[file];
    expect({
      users: summary.users,
      overLimits: summary.usersOverLimits,
      rejected: summary.rejectedRows.count,
    }).toEqual(expected);
    const writes = await fewestWrites(join(SAMPLES, file));
    expect(summary.calls.create_contact_group).toBe(writes.create);
    expect(summary.calls.update_contact_group).toBe(writes.update);
    expect(summary.calls.get_contact_group).toBe(0);
  });
});
