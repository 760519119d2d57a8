import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorProcess } from '../../bench/lib/emulator-process.js';
import { checkEndState } from '../../bench/lib/end-state.js';

type Held = Record<string, { name: string; members: { type: number; id: string }[] }[]>;

/** An emulator process that only answers GET /__emulator/state, with `users`. */
function holding(users: Held): EmulatorProcess {
  return { stateText: async () => JSON.stringify({ users }) } as unknown as EmulatorProcess;
}

const c2c = (id: string) => ({ type: 1, id });

describe("the benches' end-state check", () => {
  let dir: string;
  let csv: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cgsync-end-state-'));
    csv = join(dir, 'in.csv');
    const rows = [
      'From_Account,GroupName,Type,To_Account,ToGroupId',
      'a,G,1,x,',
      'a,G,1,y,',
      'a,E,,,',
      'b,H,2,,@g',
    ];
    // c is over the 20-group limit: it must hold nothing.
    for (let g = 0; g < 21; g++) rows.push(`c,g${g},1,z,`);
    await writeFile(csv, `${rows.join('\n')}\n`);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const exact: Held = {
    a: [
      { name: 'G', members: [c2c('y'), c2c('x')] },
      { name: 'E', members: [] },
    ],
    b: [{ name: 'H', members: [{ type: 2, id: '@g' }] }],
  };

  it('passes on exactly the CSV, and counts it', async () => {
    await expect(checkEndState(holding(exact), csv)).resolves.toEqual({
      users: 2,
      groups: 3,
      memberships: 3,
    });
  });

  it.each([
    [
      'a missing membership',
      {
        ...exact,
        a: [
          { name: 'G', members: [c2c('x')] },
          { name: 'E', members: [] },
        ],
      },
      /1 missing/,
    ],
    [
      'an extra membership',
      { ...exact, b: [{ name: 'H', members: [{ type: 2, id: '@g' }, c2c('q')] }] },
      /1 extra/,
    ],
    ['an extra group', { ...exact, b: [...(exact.b ?? []), { name: 'X', members: [] }] }, /extra group "X"/],
    [
      'a group twice',
      { ...exact, b: [...(exact.b ?? []), { name: 'H', members: [{ type: 2, id: '@g' }] }] },
      /"H" twice/,
    ],
    ['a missing group', { ...exact, a: [{ name: 'G', members: [c2c('y'), c2c('x')] }] }, /lacks group "E"/],
    ['a missing user', { a: exact.a ?? [] }, /b is missing/],
    [
      'a user over a limit holding groups',
      { ...exact, c: [{ name: 'g0', members: [c2c('z')] }] },
      /c holds 1 group/,
    ],
  ] as const)('fails on %s', async (_, users, message) => {
    await expect(checkEndState(holding(users as Held), csv)).rejects.toThrow(message);
  });
});
