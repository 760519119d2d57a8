import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCsv } from '../../bench/gen-csv.js';
import { changeOnePercent, writeSeedState } from '../../bench/lib/nightly-data.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-bench-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('changeOnePercent', () => {
  it('replaces one row of every user numbered 42 mod 100 and keeps every other line', async () => {
    const night0 = join(dir, 'night0.csv');
    const night1 = join(dir, 'night1.csv');
    await generateCsv({ path: night0, rows: 3000, users: 300 });
    const changed = await changeOnePercent(night0, night1);
    expect(changed).toBe(3); // user_042, user_142, user_242
    const before = (await readFile(night0, 'utf8')).split('\n');
    const after = (await readFile(night1, 'utf8')).split('\n');
    expect(after).toHaveLength(before.length);
    const differing = after.filter((line, i) => line !== before[i]);
    expect(differing).toHaveLength(3);
    for (const line of differing) {
      expect(line).toMatch(/^user_(042|142|242),.+,1,nightly_peer_user_\d{3},$/);
    }
  });

  it('keeps quoted group names intact', async () => {
    const input = join(dir, 'quoted.csv');
    const output = join(dir, 'quoted-out.csv');
    await writeFile(
      input,
      'From_Account,GroupName,Type,To_Account,ToGroupId\nuser_42,"Friends, ""close""",2,,@TGS#1\nuser_42,Work,1,bob,\n',
    );
    expect(await changeOnePercent(input, output)).toBe(1);
    expect((await readFile(output, 'utf8')).split('\n')[1]).toBe(
      'user_42,"Friends, ""close""",1,nightly_peer_user_42,',
    );
  });
});

describe('writeSeedState', () => {
  it('writes every user with the groups and conversations the CSV wants', async () => {
    const csv = join(dir, 'seed.csv');
    const seed = join(dir, 'seed.json');
    await writeFile(
      csv,
      'From_Account,GroupName,Type,To_Account,ToGroupId\nalice,Work,1,bob,\nalice,Work,2,,@TGS#1\nalice,Gym,,,\ncarol,Home,1,dan,\n',
    );
    expect(await writeSeedState(csv, seed)).toBe(2);
    const state = JSON.parse(await readFile(seed, 'utf8')) as { users: Record<string, unknown> };
    expect(state.users).toEqual({
      alice: [
        { groupId: 1, name: 'Gym', members: [] },
        {
          groupId: 2,
          name: 'Work',
          members: [
            { type: 1, id: 'bob' },
            { type: 2, id: '@TGS#1' },
          ],
        },
      ],
      carol: [{ groupId: 1, name: 'Home', members: [{ type: 1, id: 'dan' }] }],
    });
  });
});
