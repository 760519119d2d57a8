import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { ENDPOINTS } from '../../src/tencent/wire.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { memoryIo } from '../helpers/io.js';

/**
 * Every call cgsync makes is in its own counts: the credentials check before the first call too (it
 * goes through the endpoint's budget like any call). The summary's and the metrics file's calls per
 * endpoint equal what the emulator received (the bench compares them).
 */
let dir: string;
let t: TestEmulator;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-call-counts-'));
  t = await startTestEmulator({ latencyMs: 1 });
  const rows = ['From_Account,GroupName,Type,To_Account,ToGroupId'];
  for (let i = 0; i < 30; i++) rows.push(`u${i},g,1,peer${i},`, `u${i},h,1,peer${i},`);
  await writeFile(join(dir, 'in.csv'), `${rows.join('\n')}\n`);
});
afterAll(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

function received(): Record<string, number> {
  const stats = t.emulator.stats().endpoints;
  return Object.fromEntries(ENDPOINTS.map((e) => [e, stats[e].accepted + stats[e].rateLimited]));
}

describe("cgsync's call counts equal the emulator's", () => {
  it.each([
    ['merge, --assume-empty', ['--assume-empty']],
    ['merge', []],
    ['mirror', ['--mode', 'mirror']],
  ])('%s: the summary and the metrics file count the credentials check too', async (name, flags) => {
    t.emulator.reset();
    const tag = name.replace(/\W+/g, '-');
    const io = memoryIo(t.env, dir);
    const code = await runCli(
      [
        'apply',
        'in.csv',
        ...flags,
        '--checkpoint',
        `${tag}.ndjson`,
        '--metrics-file',
        `${tag}.prom`,
        '--json',
      ],
      io,
    );
    expect(code, io.err()).toBe(0);
    const want = received();
    // The check is a get_contact_group call, made even when nothing is read.
    expect(want.get_contact_group).toBeGreaterThanOrEqual(1);
    const summary = JSON.parse(io.out()) as { endpoints: Record<string, { calls: number }> };
    const own = Object.fromEntries(ENDPOINTS.map((e) => [e, summary.endpoints[e]?.calls ?? 0]));
    expect(own).toEqual(want);
    const metrics = await readFile(join(dir, `${tag}.prom`), 'utf8');
    for (const e of ENDPOINTS) {
      const line = metrics
        .split('\n')
        .find((l) => l.startsWith('cgsync_last_run_calls{') && l.includes(`"${e}"`));
      expect(Number(line?.split(' ').at(-1)), e).toBe(want[e]);
    }
  });
});
