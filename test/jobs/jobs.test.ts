import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_MAIN } from '../helpers/cli-process.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { expectedState } from '../helpers/expected-state.js';

const run = promisify(execFile);
const ROOT = process.cwd();
const DEMO = join(ROOT, 'samples', 'demo.csv');

/** Runs a job script as cron would: its own process, env only, exit code kept. */
async function job(script: string, args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run('bash', [join(ROOT, 'jobs', script), ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CGSYNC: CLI_MAIN, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('jobs/ entry points against the emulator', () => {
  let t: TestEmulator;
  let work: string;
  beforeAll(async () => {
    t = await startTestEmulator();
    work = await mkdtemp(join(tmpdir(), 'cgsync-jobs-'));
  });
  afterAll(async () => {
    await t.close();
    await rm(work, { recursive: true, force: true });
  });

  it('plan-report.sh writes the HTML and Markdown reports and the plan; exit 2 = changes pending', async () => {
    t.emulator.reset();
    const out = join(work, 'report');
    const r = await job('plan-report.sh', [DEMO, out], t.env);
    expect(r.code, r.stderr).toBe(2);
    expect(await readFile(join(out, 'report.html'), 'utf8')).toContain('<svg');
    expect(await readFile(join(out, 'report.md'), 'utf8')).toContain('# cgsync plan');
    expect((await stat(join(out, 'plan.ndjson'))).size).toBeGreaterThan(0);
    expect(t.totalAccepted()).toBeGreaterThan(0); // it read the state
    expect(t.state()).toEqual({}); // and wrote nothing
  });

  it('migrate.sh: blind migration, resumable checkpoint, JSON summary; a re-run is a no-op', async () => {
    t.emulator.reset();
    const dir = join(work, 'migration');
    const r = await job('migrate.sh', [DEMO], { ...t.env, WORK_DIR: dir, ASSUME_EMPTY: '1' });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')).status).toBe('ok');
    expect(t.state()).toEqual(expectedState(DEMO));
    const calls = t.totalAccepted();
    const again = await job('migrate.sh', [DEMO], { ...t.env, WORK_DIR: dir, ASSUME_EMPTY: '1' });
    expect(again.code).toBe(0);
    expect(t.totalAccepted()).toBe(calls); // every user is done in the checkpoint
  });

  it('nightly-sync.sh: mirror + state + guard; the second night with the same export makes no call', async () => {
    t.emulator.reset();
    const dir = join(work, 'nightly');
    const first = await job('nightly-sync.sh', [DEMO], { ...t.env, WORK_DIR: dir });
    expect(first.code, first.stderr).toBe(0);
    expect(t.state()).toEqual(expectedState(DEMO));
    const calls = t.totalAccepted();
    await rm(join(dir, `checkpoint-${new Date().toISOString().slice(0, 10)}.ndjson`), { force: true });
    const second = await job('nightly-sync.sh', [DEMO], { ...t.env, WORK_DIR: dir });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).users.unchanged).toBe(300);
    expect(t.totalAccepted()).toBe(calls);
  });

  it('nightly-sync.sh runs node with its memory flags, NODE_FLAGS to change them, none when node refuses them', async () => {
    // A `node` first on PATH that notes how it was called, then runs the real one.
    const bin = join(work, 'node-shim');
    await mkdir(bin, { recursive: true });
    const calls = join(work, 'node-calls.txt');
    await writeFile(
      join(bin, 'node'),
      `#!/bin/sh\nprintf '%s\\n' "$*" >> ${JSON.stringify(calls)}\nexec ${JSON.stringify(process.execPath)} "$@"\n`,
      { mode: 0o755 },
    );
    const PATH = `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`;
    /** The command line node ran the job with (the probe's `-e ''` left out). */
    const night = async (name: string, env: Record<string, string>) => {
      await rm(calls, { force: true });
      const r = await job('nightly-sync.sh', [DEMO], { ...t.env, WORK_DIR: join(work, name), PATH, ...env });
      expect(r.code, r.stderr).toBe(0);
      const lines = (await readFile(calls, 'utf8')).trimEnd().split('\n');
      return { stderr: r.stderr, command: lines.find((l) => l.includes(CLI_MAIN)) ?? '' };
    };
    const byDefault = await night('flags-default', {});
    expect(
      byDefault.command.startsWith(`--max-semi-space-size=4 --heap-growing-percent=25 ${CLI_MAIN} apply`),
    ).toBe(true);
    const none = await night('flags-none', { NODE_FLAGS: '' });
    expect(none.command.startsWith(`${CLI_MAIN} apply`)).toBe(true);
    const own = await night('flags-own', { NODE_FLAGS: '--max-semi-space-size=8' });
    expect(own.command.startsWith(`--max-semi-space-size=8 ${CLI_MAIN} apply`)).toBe(true);
    const refused = await night('flags-refused', { NODE_FLAGS: '--no-such-v8-flag-here' });
    expect(refused.command.startsWith(`${CLI_MAIN} apply`)).toBe(true);
    expect(refused.stderr).toContain('warning: this node refuses NODE_FLAGS (--no-such-v8-flag-here)');
  });

  it('nightly-sync.sh: a destructive export is refused with exit 5, nothing written; METRICS_FILE says so', async () => {
    const dir = join(work, 'nightly');
    const text = await readFile(DEMO, 'utf8');
    // Tonight's export lost nine rows in ten: far over the 10% guard.
    const lines = text.trimEnd().split('\n');
    const shrunk = join(work, 'shrunk.csv');
    await writeFile(shrunk, `${lines.filter((_, i) => i === 0 || i % 10 === 0).join('\n')}\n`);
    await rm(join(dir, `checkpoint-${new Date().toISOString().slice(0, 10)}.ndjson`), { force: true });
    const before = t.state();
    const metrics = join(work, 'nightly.prom');
    const r = await job('nightly-sync.sh', [shrunk], { ...t.env, WORK_DIR: dir, METRICS_FILE: metrics });
    expect(r.code, r.stderr).toBe(5);
    expect(JSON.parse(r.stdout).status).toBe('refused');
    expect(t.state()).toEqual(before);
    expect(await readFile(metrics, 'utf8')).toContain(
      'cgsync_last_run_exit_code{run="nightly",command="apply"} 5',
    );
  });

  it('nightly-sync.sh keeps a dated backup per night, prunes those past BACKUP_KEEP_DAYS; merging it rolls the night back', async () => {
    t.emulator.reset();
    const dir = join(work, 'nightly-backups');
    const first = await job('nightly-sync.sh', [DEMO], { ...t.env, WORK_DIR: dir });
    expect(first.code, first.stderr).toBe(0);
    const day = (daysAgo: number) => {
      const d = new Date();
      d.setDate(d.getDate() - daysAgo);
      const p = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
    };
    const backups = join(dir, 'backups');
    await mkdir(backups, { recursive: true });
    for (const name of [`${day(40)}.csv`, `${day(8)}.csv`, `${day(6)}.csv`, 'keep-me.csv']) {
      await writeFile(join(backups, name), 'From_Account,GroupName,Type,To_Account,ToGroupId\n');
    }
    await rm(join(dir, `checkpoint-${day(0)}.ndjson`), { force: true });
    const before = t.state();
    const text = await readFile(DEMO, 'utf8');
    const lines = text.trimEnd().split('\n');
    const shrunk = join(work, 'shrunk-night.csv');
    await writeFile(shrunk, `${lines.filter((_, i) => i === 0 || i % 10 === 0).join('\n')}\n`);
    const r = await job('nightly-sync.sh', [shrunk], {
      ...t.env,
      WORK_DIR: dir,
      MAX_DELETE: '100%',
      BACKUP_KEEP_DAYS: '7',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(t.state()).not.toEqual(before);
    expect((await readdir(backups)).sort()).toEqual([`${day(0)}.csv`, `${day(6)}.csv`, 'keep-me.csv'].sort());
    const tonight = join(backups, `${day(0)}.csv`);
    expect((await readFile(tonight, 'utf8')).split('\n').length).toBeGreaterThan(100);
    expect((await stat(tonight)).mode & 0o777).toBe(0o600);

    // The README's roll-back: the night's backup merged back.
    const back = await run(
      'node',
      [CLI_MAIN, 'apply', tonight, '--mode', 'merge', '--checkpoint', join(work, 'rollback.ndjson')],
      {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...t.env },
      },
    );
    expect(back.stderr).toContain('apply finished');
    expect(t.state()).toEqual(before);

    const bad = await job('nightly-sync.sh', [shrunk], { ...t.env, WORK_DIR: dir, BACKUP_KEEP_DAYS: '2w' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('BACKUP_KEEP_DAYS must be a number of days');
  }, 120_000);
});
