import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runApplyJob } from '../../src/sync/apply-job.js';
import type { ApplyJobOptions } from '../../src/sync/apply-types.js';
import { writeFaultCsv } from '../faults/fixtures.js';
import { useJobHarness } from '../helpers/job-harness.js';

/**
 * Mirror plans every user before the first write, into a plan file: in the run's working directory
 * (a `cgsync-*` directory under the temporary folder, removed however the job ends), never loose in
 * the temporary folder.
 */
const h = useJobHarness('apply-csv', { emulator: { rateLimit: 10_000 }, rate: 1000 });
let tmp: string;
let input: string;
const savedTmp = process.env.TMPDIR;

beforeAll(async () => {
  input = join(h.dir.path, 'input.csv');
  await writeFaultCsv(input, { users: 30, rowsPerUser: 3, seed: 5 });
  // The job's working directories go to os.tmpdir(): a directory of our own, to see them go.
  tmp = join(h.dir.path, 'tmp');
  await mkdir(tmp);
  process.env.TMPDIR = tmp;
});

afterAll(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
});

/** Every file under `root`, relative to it. */
async function files(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(root.length + 1));
}

function options(name: string, extra: Partial<ApplyJobOptions> = {}): ApplyJobOptions {
  return {
    input,
    checkpoint: join(h.dir.path, `${name}.ndjson`),
    mode: 'mirror',
    assumeEmpty: false,
    api: h.api,
    scheduler: h.scheduler,
    ...extra,
  };
}

describe('mirror’s plan file', () => {
  it('lives in the run’s working directory while the guard is decided, and goes with it', async () => {
    let during: string[] = [];
    const result = await runApplyJob(
      options('ok', {
        onPhase: async (phase) => {
          if (phase === 'guard') during = await files(tmp);
        },
      }),
    );
    expect(result.run?.users.done).toBe(30);
    expect(during).toContainEqual(expect.stringMatching(/^cgsync-\w+\/mirror-plan\.ndjson$/));
    // Nothing loose in the temporary folder: every working file is in the run's directory.
    expect(during.every((f) => /^cgsync-\w+\//.test(f))).toBe(true);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('is removed when the job fails between planning and writing', async () => {
    const failed = await runApplyJob(
      options('fails', {
        onGuard: () => {
          throw new Error('the guard’s listener failed');
        },
      }),
    ).catch((error: unknown) => error);
    expect(failed).toMatchObject({ message: 'the guard’s listener failed' });
    expect(await readdir(tmp)).toEqual([]);
  });

  it('is removed when the guard refuses the run', async () => {
    await runApplyJob(options('first'));
    const refused = await runApplyJob(
      options('refused', { input: await emptyInput(), maxDelete: { kind: 'count', value: 0 } }),
    );
    expect(refused.refused?.ok).toBe(false);
    expect(await readdir(tmp)).toEqual([]);
  });
});

/** A CSV of the same users with no rows left but one: mirroring it removes nearly everything. */
async function emptyInput(): Promise<string> {
  const path = join(h.dir.path, 'one.csv');
  await writeFaultCsv(path, { users: 1, rowsPerUser: 1, seed: 5 });
  return path;
}
