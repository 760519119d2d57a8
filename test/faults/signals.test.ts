import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { type AppState, expectedState } from '../helpers/expected-state.js';
import { killAllCli, runCliProcess, spawnCli } from '../helpers/spawn-cli.js';
import { tempDir, waitFor, writeFaultCsv } from './fixtures.js';

/**
 * Issue 12, item 6: SIGINT/SIGTERM during mirror's read phase, `plan` or `verify` exited 1
 * ("unexpected error: received SIGTERM"). Every phase now stops cleanly with exit 3: a real `cgsync`
 * process (test/helpers/phase-main.mjs: the real entry point, which prints each phase as it begins)
 * gets SIGINT, SIGTERM or SIGHUP inside a phase; it must exit 3, say it was interrupted (with --json,
 * status `interrupted`), leave no lock, and the same command must then finish the job. Phases that
 * are over in a moment (the guard, the last flush, a plan's validation) are held open by the entry
 * point until the signal comes (CGSYNC_TEST_PAUSE_AT).
 */
const PHASE_MAIN = fileURLToPath(new URL('../helpers/phase-main.mjs', import.meta.url));
const USERS = 120;

interface Case {
  readonly name: string;
  readonly args: (dir: string) => string[];
  readonly phase: 'scan' | 'read' | 'guard' | 'write' | 'flush';
  /** Hold the phase open until the signal arrives. */
  readonly pause?: boolean;
  readonly signal: NodeJS.Signals;
  /** The exit code of the same command run again to the end. */
  readonly resumed: number;
  /** An apply: the checkpoint whose lock must be gone, and the state to reach on resume. */
  readonly checkpoint?: string;
  readonly setup?: 'plan' | 'big';
}

const apply = (input: string, checkpoint: string, ...flags: string[]) => [
  'apply',
  input,
  '--checkpoint',
  checkpoint,
  '--rate',
  '2000',
  '--json',
  ...flags,
];

const cases: readonly Case[] = [
  {
    name: 'apply: reading the CSV (a 6 MB file)',
    args: () => apply('big.csv', 'big.ndjson'),
    phase: 'scan',
    signal: 'SIGINT',
    resumed: -1,
    setup: 'big',
  },
  {
    name: 'apply --mode mirror: the read phase',
    args: () => apply('export.csv', 'mirror-read.ndjson', '--mode', 'mirror'),
    phase: 'read',
    signal: 'SIGTERM',
    resumed: 0,
    checkpoint: 'mirror-read.ndjson',
  },
  {
    name: 'apply --mode mirror: the guard',
    args: () => apply('export.csv', 'mirror-guard.ndjson', '--mode', 'mirror'),
    phase: 'guard',
    pause: true,
    signal: 'SIGHUP',
    resumed: 0,
    checkpoint: 'mirror-guard.ndjson',
  },
  {
    name: 'apply --mode mirror: the write phase',
    args: () => apply('export.csv', 'mirror-write.ndjson', '--mode', 'mirror'),
    phase: 'write',
    signal: 'SIGINT',
    resumed: 0,
    checkpoint: 'mirror-write.ndjson',
  },
  {
    name: 'apply (merge): the write phase, reads and writes together',
    args: () => apply('export.csv', 'merge-write.ndjson'),
    phase: 'write',
    signal: 'SIGTERM',
    resumed: 0,
    checkpoint: 'merge-write.ndjson',
  },
  {
    name: 'apply (merge): the last flush',
    args: () => apply('export.csv', 'merge-flush.ndjson', '--failures', 'flush-failures.csv'),
    phase: 'flush',
    pause: true,
    signal: 'SIGHUP',
    resumed: 0,
    checkpoint: 'merge-flush.ndjson',
  },
  {
    name: 'apply plan.ndjson: validating the plan',
    args: () => apply('saved.ndjson', 'plan-scan.ndjson'),
    phase: 'scan',
    pause: true,
    signal: 'SIGINT',
    resumed: 0,
    checkpoint: 'plan-scan.ndjson',
    setup: 'plan',
  },
  {
    name: 'apply plan.ndjson: the stale checks and writes',
    args: () => apply('saved.ndjson', 'plan-write.ndjson'),
    phase: 'write',
    signal: 'SIGTERM',
    resumed: 0,
    checkpoint: 'plan-write.ndjson',
    setup: 'plan',
  },
  {
    name: 'plan: reading the app',
    args: () => ['plan', 'export.csv', '--out', 'p.ndjson', '--json'],
    phase: 'read',
    signal: 'SIGINT',
    resumed: 0,
  },
  {
    name: 'verify: reading the app',
    args: () => ['verify', 'export.csv', '--json'],
    phase: 'read',
    signal: 'SIGHUP',
    resumed: 2,
  },
];

describe('a signal in every phase: exit 3, resumable, lock released, summary printed', () => {
  let t: TestEmulator;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let desired: AppState;

  beforeAll(async () => {
    dir = await tempDir('signals');
    await writeFaultCsv(join(dir.path, 'export.csv'), { users: USERS, rowsPerUser: 3, seed: 17 });
    await writeFaultCsv(join(dir.path, 'big.csv'), { users: 100_000, rowsPerUser: 2, seed: 18 });
    desired = expectedState(join(dir.path, 'export.csv'));
    // Slow enough that a read or write phase lasts well past the moment the signal is sent.
    t = await startTestEmulator({ latencyMs: 100, rateLimit: 5000 });
  });
  afterAll(async () => {
    await killAllCli();
    await t?.close();
    await dir?.remove();
  });

  it.each(cases)('$name ($signal)', async (c) => {
    t.emulator.reset();
    const options = { env: t.env, cwd: dir.path, timeoutMs: 30_000 };
    if (c.setup === 'plan') {
      const planned = await runCliProcess(['plan', 'export.csv', '--out', 'saved.ndjson'], options);
      expect(planned.code, planned.stderr).toBe(0);
    }
    const child = spawnCli(c.args(dir.path), {
      ...options,
      main: PHASE_MAIN,
      env: { ...t.env, ...(c.pause === true ? { CGSYNC_TEST_PAUSE_AT: c.phase } : {}) },
    });
    const marker = `phase ${c.phase}\n`;
    expect(await waitFor(() => child.stderr().includes(marker), child.exited, 2), child.stderr()).toBe(true);
    child.kill(c.signal);
    const exit = await child.exited;
    expect(exit.code, exit.stderr).toBe(3);
    expect(exit.stderr).toMatch(/interrupted/);
    expect(exit.stderr).not.toMatch(/unexpected error/);
    if (c.phase === 'scan' || c.phase === 'read' || c.phase === 'guard') {
      // Stopped before the write phase: not a single write.
      const endpoints = t.emulator.stats().endpoints;
      const writes = ['create_contact_group', 'update_contact_group', 'del_contact_group'] as const;
      expect(writes.reduce((n, e) => n + endpoints[e].accepted, 0)).toBe(0);
    }
    if (c.args(dir.path).includes('--json')) {
      expect(JSON.parse(exit.stdout.trim().split('\n').at(-1) ?? '{}')).toMatchObject({
        exitCode: 3,
        status: 'interrupted',
      });
    }
    if (c.checkpoint !== undefined) {
      expect(existsSync(join(dir.path, `${c.checkpoint}.lock`)), 'lock left behind').toBe(false);
    }
    if (c.setup === 'big') {
      // Stopped while reading the input: nothing was called, nothing to resume from.
      expect(t.totalAccepted()).toBe(0);
      expect(existsSync(join(dir.path, 'big.ndjson'))).toBe(false);
      return;
    }
    const again = await runCliProcess(c.args(dir.path), options);
    expect(again.code, again.stderr).toBe(c.resumed);
    if (c.checkpoint !== undefined) expect(t.state()).toEqual(desired);
  });

  it('a second signal exits at once (130/143) and leaves no temporary file of the run behind', async () => {
    t.emulator.reset();
    const options = { env: t.env, cwd: dir.path, timeoutMs: 30_000 };
    const args = apply(
      'export.csv',
      'twice.ndjson',
      '--mode',
      'mirror',
      '--failures',
      'twice-failures.csv',
      '--state',
      'twice.state',
    );
    // The run's own temporary files: `.<name>.<pid>.<random>.tmp` beside the files they become.
    const temps = () =>
      readdirSync(dir.path).filter((n) => /^\.twice(-failures\.csv|\.state)\..*\.tmp$/.test(n));
    const child = spawnCli(args, {
      ...options,
      main: PHASE_MAIN,
      env: { ...t.env, CGSYNC_TEST_PAUSE_AT: 'flush' },
    });
    expect(
      await waitFor(() => child.stderr().includes('phase flush\n'), child.exited, 2),
      child.stderr(),
    ).toBe(true);
    // Held in the last flush: the failures file is still under its temporary name.
    expect(temps()).toHaveLength(1);
    // Two different signals (two of the same kind may merge into one delivery). Sent together, they
    // may be handled in either order: the second one handled sets the code (143 SIGTERM, 130 SIGINT).
    child.kill('SIGINT');
    child.kill('SIGTERM');
    const exit = await child.exited;
    expect([130, 143], exit.stderr).toContain(exit.code);
    expect(temps()).toEqual([]);
    const again = await runCliProcess(args, options);
    expect(again.code, again.stderr).toBe(0);
    expect(t.state()).toEqual(desired);
    expect(temps()).toEqual([]);
  });
});
