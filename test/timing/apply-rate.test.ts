import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmulatorProcess, startEmulatorProcess } from '../../bench/lib/emulator-process.js';
import { BENCH_ENV } from '../../bench/lib/paths.js';
import { ENDPOINTS } from '../../src/tencent/wire.js';
import { appState } from '../helpers/emulator.js';
import { expectedState } from '../helpers/expected-state.js';
import { killAllCli, runCliProcess } from '../helpers/spawn-cli.js';

/**
 * The rate guarantee end to end, in one cgsync process with every default (rate, concurrency,
 * merge mode): `cgsync apply` as a process against `cgsync emulator` as another (its HTTP on its own
 * thread, 200 accepted calls per endpoint in any sliding 1000 ms window, 50 ± 20 ms latency), with
 * enough calls to hold every endpoint at the limit for about five seconds. The emulator must not
 * have answered a single 60007, by its own count (`GET /__emulator/stats`), not cgsync's.
 *
 * Timing-sensitive: it runs in the `timing` project (vitest.config.ts), alone, after the rest of the
 * suite, so other test files do not load the two cores while it measures.
 */
const USERS = 1000;
const CONVERSATIONS = 150;

let dir: string;
let emulator: EmulatorProcess;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-apply-rate-'));
  emulator = await startEmulatorProcess(['--rate-limit', '200', '--latency', '50', '--jitter', '20']);
});
afterAll(async () => {
  await killAllCli();
  await emulator?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('cgsync apply at its default rate against a 200/s emulator', () => {
  it('holds every endpoint at the limit for seconds without a single 60007, and ends in the exact state', {
    timeout: 90_000,
  }, async () => {
    const input = join(dir, 'users.csv');
    const rows = ['From_Account,GroupName,Type,To_Account,ToGroupId'];
    for (let u = 0; u < USERS; u++) {
      for (let p = 0; p < CONVERSATIONS; p++) rows.push(`user${u},Friends,1,peer${u}x${p},`);
    }
    await writeFile(input, `${rows.join('\n')}\n`);

    const exit = await runCliProcess(['apply', input, '--checkpoint', 'run.ndjson', '--json'], {
      env: { ...BENCH_ENV, TENCENT_ENDPOINT: emulator.url },
      cwd: dir,
      timeoutMs: 80_000,
    });
    expect(exit.code, exit.stderr.slice(-2000)).toBe(0);

    const stats = (await emulator.stats()).endpoints;
    for (const endpoint of ENDPOINTS) {
      expect(stats[endpoint].rateLimited, `${endpoint}: 60007 answers`).toBe(0);
    }
    // One read, one create (100 conversations) and one update (the other 50) per user (plus the one
    // credentials check, a read before the first call), and each
    // endpoint was pushed towards the limit (else the zero above would prove little): its busiest
    // 1000 ms window took well over half of 200 (about 195 on an idle machine; 150 was seen with
    // other work loading both cores). The emulator refuses the 201st call of a window, so its
    // maxInWindow can never pass 200: only the rate-limited count above can catch an excess.
    for (const endpoint of ['get_contact_group', 'create_contact_group', 'update_contact_group'] as const) {
      expect(stats[endpoint].accepted, endpoint).toBe(endpoint === 'get_contact_group' ? USERS + 1 : USERS);
      expect(stats[endpoint].maxInWindow, `${endpoint} never reached the limit`).toBeGreaterThanOrEqual(120);
    }
    const res = await fetch(`${emulator.url}/__emulator/state`);
    expect(appState((await res.json()) as Parameters<typeof appState>[0])).toEqual(expectedState(input));
  });
});
