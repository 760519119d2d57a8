import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCsv } from '../../bench/gen-csv.js';
import { changeOnePercent, selectChangedUsers } from '../../bench/lib/nightly-data.js';

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

describe('selectChangedUsers', () => {
  it('keeps the header and every row of the users night 1 changes, and nothing else', async () => {
    const input = join(dir, 'select.csv');
    const output = join(dir, 'select-out.csv');
    await writeFile(
      input,
      'From_Account,GroupName,Type,To_Account,ToGroupId\nuser_41,A,1,x,\nuser_42,A,1,y,\nuser_42,B,,,\nuser_142,"C, d",2,,@TGS#1\nuser_43,A,1,z,\n',
    );
    await selectChangedUsers(input, output);
    expect(await readFile(output, 'utf8')).toBe(
      'From_Account,GroupName,Type,To_Account,ToGroupId\nuser_42,A,1,y,\nuser_42,B,,,\nuser_142,"C, d",2,,@TGS#1\n',
    );
  });
});
