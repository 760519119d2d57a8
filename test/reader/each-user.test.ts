import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { scanInput } from '../../src/reader/scan-input.js';
import { csvLine, scratchDir } from './helpers.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

const HEADER = 'From_Account,GroupName,Type,To_Account,ToGroupId';

/** The users `eachUser` tells, then the users the stream yields, of one file. */
async function bothWays(text: string, partitionBytes?: number) {
  const path = scratch.file('in.csv', text);
  const scan = await scanInput(path, partitionBytes === undefined ? {} : { partitionBytes });
  const told: string[] = [];
  await scan.eachUser((user) => told.push(user));
  const streamed: string[] = [];
  for await (const user of scan.users()) streamed.push(user.user);
  return { told, streamed, summary: scan.summary };
}

describe('InputScan.eachUser: each distinct user once, before the users are read', () => {
  it('grouped and scattered rows, a user whose rows were all rejected, IDs with escapes', async () => {
    const rows = [
      HEADER,
      csvLine(['a\\b', 'g', '1', 'p', '']),
      csvLine(['tab\there', 'g', '1', 'p', '']),
      csvLine(['rejected', '', '1', 'p', '']),
      csvLine(['é', 'g', '1', 'p', '']),
    ];
    const grouped = await bothWays(`${rows.join('\n')}\n`);
    expect(grouped.summary.grouped).toBe(true);
    expect(grouped.told).toEqual(grouped.streamed);
    expect(grouped.told).toEqual(['a\\b', 'tab\there', 'rejected', 'é']);
    // The first user again at the end: not grouped.
    const scattered = await bothWays(`${[...rows, csvLine(['a\\b', 'h', '1', 'q', ''])].join('\n')}\n`, 16);
    expect(scattered.summary.grouped).toBe(false);
    expect(scattered.summary.usersCounted).toBeUndefined();
    expect(scattered.told.sort()).toEqual(scattered.streamed.sort());
    expect(scattered.told).toHaveLength(4);
  });

  it('tells what the stream yields, for any order of rows and any partition size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('u1', 'u2', 'u3', 'x y', 'z\\'), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 8, max: 4096 }),
        async (users, partitionBytes) => {
          const text = `${[HEADER, ...users.map((u, i) => csvLine([u, `g${i % 3}`, '1', `p${i}`, '']))].join('\n')}\n`;
          const { told, streamed } = await bothWays(text, partitionBytes);
          expect([...told].sort()).toEqual([...streamed].sort());
          expect(new Set(told).size).toBe(told.length);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('partitioned: true stages straight into partitions: the same users, whole, in the canonical order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('u1', 'u2', 'u3', 'x y', 'z\\', 'é'), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 8, max: 4096 }),
        async (users, partitionBytes) => {
          const text = `${[HEADER, ...users.map((u, i) => csvLine([u, `g${i % 3}`, '1', `p${i}`, '']))].join('\n')}\n`;
          const path = scratch.file('partitioned.csv', text);
          const read = async (partitioned: boolean) => {
            const scan = await scanInput(path, { partitionBytes, partitioned });
            const told: string[] = [];
            await scan.eachUser((user) => told.push(user));
            const streamed = [];
            for await (const user of scan.users({ order: 'canonical' })) streamed.push(user);
            return { summary: scan.summary, told, streamed };
          };
          const staged = await read(false);
          const direct = await read(true);
          expect(direct.streamed).toEqual(staged.streamed);
          expect([...direct.told].sort()).toEqual([...staged.told].sort());
          // No grouped check was made, so no users were counted by the scan.
          expect(direct.summary.grouped).toBe(false);
          expect(direct.summary.usersCounted).toBeUndefined();
          expect(direct.summary.partitions).toBeGreaterThan(0);
          expect(direct.summary.validRows).toBe(users.length);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('stops with INTERRUPTED when its signal is aborted', async () => {
    const scan = await scanInput(scratch.file('stop.csv', `${HEADER}\nu,g,1,p,\nv,g,1,p,\nu,h,1,q,\n`));
    await expect(scan.eachUser(() => undefined, AbortSignal.abort())).rejects.toMatchObject({
      code: 'INTERRUPTED',
    });
    await scan.dispose();
  });

  it('comes before users(): after them it is refused', async () => {
    const scan = await scanInput(scratch.file('one.csv', `${HEADER}\nu,g,1,p,\n`));
    for await (const _ of scan.users()) {
      // read them all
    }
    await expect(scan.eachUser(() => undefined)).rejects.toThrow(/eachUser\(\) comes first/);
  });
});
