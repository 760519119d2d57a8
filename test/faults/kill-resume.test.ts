import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { mulberry32 } from '../../src/emulator/index.js';
import { duplicateNames, startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { type AppState, expectedState } from '../helpers/expected-state.js';
import { memoryIo } from '../helpers/io.js';
import { type CliExit, killAllCli, runCliProcess, spawnCli } from '../helpers/spawn-cli.js';
import { tempDir, waitFor, writeFaultCsv } from './fixtures.js';

/**
 * Issue 4's acceptance, property style, with a real process: `cgsync apply` runs as a child against
 * an emulator with faults (5% transient, 2% lost answers, 1% HTTP 502, 2% applied then answered
 * 50004/502, and 3% of items answered 50004/50005 inside successful calls, half of them applied
 * anyway: the item retries are killed mid-way too), is SIGKILLed at seeded
 * random points of its progress (measured by the calls the emulator accepted, so the kill lands
 * mid-run whatever the machine's speed), then the same command is run until it exits 0. The end
 * state must equal the CSV exactly, with no group created twice, whether the service rejects or
 * allows duplicate group names.
 */
const USERS = 80;
const SEEDS = [11, 22, 33] as const;

describe.each(['reject', 'allow'] as const)('kill -9 and resume, duplicate names %s', (mode) => {
  let t: TestEmulator;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let input: string;
  let desired: AppState;
  let expectedCalls: number;

  beforeAll(async () => {
    dir = await tempDir(`kill-${mode}`);
    input = join(dir.path, 'input.csv');
    await writeFaultCsv(input, { users: USERS, rowsPerUser: 6, seed: mode === 'reject' ? 5 : 6 });
    desired = expectedState(input);
    // One read per user and one create per group (no group here exceeds 100 conversations).
    expectedCalls = USERS + Object.values(desired).reduce((n, g) => n + Object.keys(g).length, 0);
    t = await startTestEmulator({
      faultRate: 0.05,
      lostRate: 0.02,
      http502Rate: 0.01,
      appliedFaultRate: 0.02,
      itemFaultRate: 0.03,
      existingMember: mode === 'reject' ? 'ok' : 'error',
      duplicateNames: mode,
      latencyMs: 3,
      jitterMs: 2,
      rateLimit: 1000,
      seed: mode === 'reject' ? 3 : 4,
    });
  });
  afterAll(async () => {
    await killAllCli();
    await t?.close();
    await dir?.remove();
  });

  it.each(SEEDS)(
    'seed %i: killed at random points, resumed until exit 0: exact state, no duplicates, verify 0',
    async (seed) => {
      t.emulator.reset();
      const random = mulberry32(seed + (mode === 'allow' ? 1000 : 0));
      const checkpoint = `cp-${seed}.ndjson`;
      const args = ['apply', input, '--checkpoint', checkpoint, '--rate', '1000', '--json'];
      const options = { env: t.env, cwd: dir.path, timeoutMs: 15_000 };
      const kills = 1 + Math.floor(random() * 2);
      const killedAt: number[] = [];
      for (let k = 0; k < kills; k++) {
        const child = spawnCli(args, options);
        // Somewhere in the remaining calls, never at the very end (else there is nothing left to resume).
        const start = t.totalAccepted();
        const remaining = Math.max(1, expectedCalls - start);
        const target = start + 1 + Math.floor(random() * 0.85 * remaining);
        const reached = await waitFor(() => t.totalAccepted() >= target, child.exited, 2);
        if (reached) child.kill('SIGKILL');
        const exit = await child.exited;
        if (reached) {
          expect(exit.signal, exit.stderr).toBe('SIGKILL');
          killedAt.push(t.totalAccepted());
        }
      }
      expect(
        killedAt.length,
        'no kill landed before the run finished: the test proved nothing',
      ).toBeGreaterThan(0);
      expect(t.state()).not.toEqual(desired);

      let last: CliExit | undefined;
      for (let attempt = 0; attempt < 3; attempt++) {
        last = await runCliProcess(args, options);
        if (last.code === 0) break;
      }
      expect(last?.code, last?.stderr).toBe(0);
      const summary = JSON.parse(last?.stdout ?? '{}');
      expect(summary.status).toBe('ok');
      expect(summary.users.alreadyDone + summary.users.done).toBe(USERS);

      expect(t.state()).toEqual(desired);
      expect(duplicateNames(t.emulator)).toEqual([]);
      const io = memoryIo(t.env, dir.path);
      expect(await runCli(['verify', input, '--rate', '1000'], io), io.err()).toBe(0);
    },
    20_000,
  );
});
