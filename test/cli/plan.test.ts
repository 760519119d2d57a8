import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { memoryIo } from '../helpers/io.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-plan-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cgsync plan --assume-empty (no credentials needed)', () => {
  it('writes a byte-identical plan file whatever the order of the input rows (SOURCE_DATE_EPOCH fixes its time)', async () => {
    const text = await readFile(join(process.cwd(), 'samples', 'demo.csv'), 'utf8');
    const [header, ...rows] = text.trimEnd().split('\n');
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    expect(
      await runCli(
        ['plan', 'samples/demo.csv', '--assume-empty', '--out', join(dir, 'a.ndjson')],
        memoryIo(env),
      ),
    ).toBe(0);
    const reference = await readFile(join(dir, 'a.ndjson'));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(), { minLength: rows.length, maxLength: rows.length }),
        async (keys) => {
          const order = rows.map((r, i) => [keys[i] as number, r] as const).sort((x, y) => x[0] - y[0]);
          await writeFile(join(dir, 'shuffled.csv'), `${header}\n${order.map(([, r]) => r).join('\n')}\n`);
          const io = memoryIo(env, dir);
          expect(await runCli(['plan', 'shuffled.csv', '--assume-empty', '--out', 'b.ndjson'], io)).toBe(0);
          expect((await readFile(join(dir, 'b.ndjson'))).equals(reference)).toBe(true);
        },
      ),
      { numRuns: 5 },
    );
    const made = JSON.parse(reference.toString('utf8').split('\n')[0] as string).made;
    expect(made).toEqual({ at: '2023-11-14T22:13:20.000Z', by: expect.stringMatching(/^cgsync \d/) });
  });

  it('refuses a report with an unknown extension before reading anything', async () => {
    const io = memoryIo({});
    expect(await runCli(['plan', 'samples/basic.csv', '--assume-empty', '--report', 'r.pdf'], io)).toBe(1);
    expect(io.err()).toMatch(/Expected --report to end in .html or .md, got ".*r.pdf"/);
  });

  it('a whole-file problem is exit 1 with the line; a missing file names the path', async () => {
    await writeFile(
      join(dir, 'broken.csv'),
      'From_Account,GroupName,Type,To_Account,ToGroupId\nalice,"Fam\n',
    );
    const io = memoryIo({}, dir);
    expect(await runCli(['plan', 'broken.csv', '--assume-empty'], io)).toBe(1);
    expect(io.err()).toMatch(/line 2/);
    const missing = memoryIo({}, dir);
    expect(await runCli(['plan', 'nope.csv', '--assume-empty'], missing)).toBe(1);
    expect(missing.err()).toContain('nope.csv');
  });

  it('without --assume-empty it needs a target and says so', async () => {
    const io = memoryIo({});
    expect(await runCli(['plan', 'samples/basic.csv'], io)).toBe(1);
    expect(io.err()).toContain('SDKAppID is missing');
  });
});
