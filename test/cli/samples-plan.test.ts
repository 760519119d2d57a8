import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { expectedRows, stateOf } from '../helpers/expected-state.js';
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

/**
 * The fewest writes into an empty app, counted independently of the planner and the reader (the
 * test oracle, users over a limit left out whole): per group max(1, ⌈n/100⌉).
 */
function fewestWrites(path: string): { create: number; update: number } {
  let create = 0;
  let update = 0;
  for (const groups of Object.values(stateOf(expectedRows(path)))) {
    for (const conversations of Object.values(groups)) {
      create += 1;
      update += Math.max(0, Math.ceil(conversations.length / 100) - 1);
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
    // The row count, so a partial read cannot pass for a whole one (the benches check it too).
    expect(summary.rows).toEqual({
      total: expectedRows(join(SAMPLES, file)).rows,
      rejected: expected?.rejected,
    });
    const writes = fewestWrites(join(SAMPLES, file));
    expect(summary.calls.create_contact_group).toBe(writes.create);
    expect(summary.calls.update_contact_group).toBe(writes.update);
    expect(summary.calls.get_contact_group).toBe(0);
  });
});
