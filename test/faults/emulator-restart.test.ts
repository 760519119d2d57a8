import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import type { Clock } from '../../src/executor/clock.js';
import { createEndpointLimiters } from '../../src/executor/limiters.js';
import { callWithRetry } from '../../src/executor/retry.js';
import { failureOf, TencentClient } from '../../src/tencent/client.js';
import { desiredState, duplicateNames, startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { memoryIo } from '../helpers/io.js';
import { type CliExit, killAllCli, runCliProcess, spawnCli } from '../helpers/spawn-cli.js';
import { tempDir, waitFor, writeFaultCsv } from './fixtures.js';

/**
 * The service goes away mid-run (connection refused for ~3 s: the emulator is closed, its state saved
 * to its state file, then started again on the same port from that file). The run waits with backoff
 * and usually finishes (exit 0). Each refused call is retried at most 8 times with full jitter, so a
 * call whose draws are small gives up within the outage; the run then ends with exit 4 (the rows in
 * --failures with ECONNREFUSED) and the same command finishes the job. Both paths end in the exact
 * state; which one was taken is in the assertion messages. The deterministic test below pins the
 * give-up case down (see the report: retry budget counted in attempts, not time).
 */
const USERS = 100;
const OUTAGE_MS = 3000;
const NOT_SENT = /ECONNREFUSED|ECONNRESET|EPIPE|NETWORK|TRANSPORT/;

describe('the emulator restarted mid-run', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const emulators: TestEmulator[] = [];

  beforeAll(async () => {
    dir = await tempDir('restart');
  });
  afterAll(async () => {
    await killAllCli();
    for (const e of emulators) await e.close().catch(() => undefined);
    await dir?.remove();
  });

  it('connection refused for ~3 s: the run waits with backoff and ends in the exact state', async () => {
    const input = join(dir.path, 'input.csv');
    await writeFaultCsv(input, { users: USERS, rowsPerUser: 5, seed: 9 });
    const desired = await desiredState(input);
    const expectedCalls = USERS + Object.values(desired).reduce((n, g) => n + Object.keys(g).length, 0);
    const stateFile = join(dir.path, 'emulator-state.json');
    const first = await startTestEmulator({ stateFile, latencyMs: 5, persistDebounceMs: 50 });
    emulators.push(first);
    const env = first.env;
    const args = ['apply', input, '--checkpoint', 'cp.ndjson', '--json', '--failures', 'failures.csv'];
    const options = { env, cwd: dir.path, timeoutMs: 35_000 };

    const child = spawnCli(args, options);
    const midway = await waitFor(() => first.totalAccepted() >= expectedCalls * 0.3, child.exited, 5);
    expect(midway, `the run ended before the outage: ${child.stderr()}`).toBe(true);
    await first.close();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    const exitedDuringOutage = child.child.exitCode !== null;
    const second = await startTestEmulator({
      stateFile,
      secretKey: first.secretKey,
      port: first.emulator.port,
      latencyMs: 5,
    });
    emulators.push(second);

    const exit = await child.exited;
    // Waiting with backoff means still running when the service came back (else it gave up early).
    if (exitedDuringOutage) expect(exit.code, `gave up during the outage: ${exit.stderr}`).not.toBe(0);
    if (exit.code === 0) {
      const summary = JSON.parse(exit.stdout);
      const retries = Object.values(summary.endpoints as Record<string, { retries: number }>).reduce(
        (n, e) => n + e.retries,
        0,
      );
      expect(retries, 'the refused calls were retried').toBeGreaterThan(0);
    }
    let final: CliExit = exit;
    if (exit.code !== 0) {
      // The documented fallback: a clean stop (4: calls that gave up are in --failures, all refused
      // connections; 1: a planning read gave up), then the same command finishes.
      expect([1, 4], exit.stderr).toContain(exit.code);
      if (exit.code === 1) expect(exit.stderr).toMatch(NOT_SENT);
      if (exit.code === 4) {
        const failures = (await readFile(join(dir.path, 'failures.csv'), 'utf8')).trim().split(/\r?\n/);
        expect(failures.length, 'exit 4 without failed rows').toBeGreaterThan(1);
        for (const row of failures.slice(1)) expect(row).toMatch(NOT_SENT);
      }
      final = await runCliProcess(args, options);
    }
    expect(final.code, `first run exit ${exit.code}; re-run: ${final.stderr}`).toBe(0);
    expect(second.totalAccepted(), 'no call reached the restarted service').toBeGreaterThan(0);
    expect(second.state()).toEqual(desired);
    expect(duplicateNames(second.emulator)).toEqual([]);
    const io = memoryIo(env, dir.path);
    expect(await runCli(['verify', input], io), io.err()).toBe(0);
  }, 40_000);
});

describe('one call across a ~3 s connection-refused outage (executor retry budget)', () => {
  /** A clock whose sleeps pass at once; `onAdvance` sees the new time. */
  function fastClock(onAdvance: (now: number) => Promise<void>): Clock {
    let now = 0;
    return {
      now: () => now,
      async sleep(ms, signal) {
        if (signal?.aborted) throw signal.reason;
        now += ms;
        await onAdvance(now);
      },
    };
  }

  // KNOWN BUG (reported to the lead): callWithRetry counts its budget in attempts (8, full jitter
  // from 0), so when the draws are small the 7 waits add up to less than a short outage and the call
  // gives up with ECONNREFUSED although the service is back a moment later (src/executor/retry.ts,
  // callWithRetry/backoffMs). For a request that was never sent, the budget should be time.
  it('a refused call is retried until the service is back, even with small jitter draws', async () => {
    const secretKey = 'restart-test-key-0123456789abcdef';
    const probe = await startEmulator({ sdkAppId: 1400000000, secretKey, port: 0 });
    const port = probe.port;
    await probe.close(); // the port now refuses connections
    let back: RunningEmulator | undefined;
    const api = new TencentClient({ sdkAppId: 1400000000, secretKey, endpoint: `http://127.0.0.1:${port}` });
    const scheduler = createEndpointLimiters({ rate: 200 });
    const clock = fastClock(async (now) => {
      if (now >= OUTAGE_MS && back === undefined) {
        back = await startEmulator({ sdkAppId: 1400000000, secretKey, port });
      }
    });
    try {
      const page = await callWithRetry(scheduler, 'get_contact_group', (s) => api.getGroupsPage('u1', 0, s), {
        clock,
        random: () => 0.05, // 8 draws at the 5th percentile: the waits add up to ~1.6 s
      }).catch((err: unknown) => {
        throw new Error(`gave up: ${JSON.stringify(failureOf(err))}`);
      });
      expect(page.groups).toEqual([]);
    } finally {
      await scheduler.stop();
      await api.close();
      await back?.close();
    }
  });
});
