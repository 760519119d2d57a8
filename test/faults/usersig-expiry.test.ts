import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyExitCode } from '../../src/cli/apply.js';
import { createEndpointLimiters } from '../../src/executor/rate/limiters.js';
import { runApplyJob } from '../../src/sync/apply-job.js';
import { type CallEvent, TencentClient } from '../../src/tencent/client.js';
import { duplicateNames, startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { type AppState, expectedState } from '../helpers/expected-state.js';
import { tempDir, writeFaultCsv } from './fixtures.js';

/**
 * The admin UserSig expires during a run. The emulator checks signatures against its own (real) clock
 * and answers 70001 for an expired one; the client signs with an injected clock (`nowSeconds`), which
 * lets a run of a few seconds cross an expiry:
 * - the client's clock runs 200× fast: the cache must re-sign before the first UserSig, valid for only
 *   ~3 real seconds, expires (it renews at 80% of the validity, at least 300 s early), so the service
 *   never answers 70001;
 * - the client's clock lags so far behind that every UserSig it signs expires ~2 s later and the cache
 *   never renews on its own: the service answers 70001, the client re-signs once, and the run goes on.
 */
const USERS = 200;
const RATE = 100; // calls/s per endpoint: the run lasts several seconds

interface Recorder {
  readonly sigs: Set<string>;
  /** Real time (ms) of every request sent. */
  readonly sentAt: number[];
  readonly codes: Map<number, number>;
}

async function applyWithClock(
  t: TestEmulator,
  dir: string,
  input: string,
  name: string,
  client: { userSigExpireSeconds: number; nowSeconds: () => number },
): Promise<{ exit: number; rec: Recorder }> {
  const rec: Recorder = { sigs: new Set(), sentAt: [], codes: new Map() };
  const pool = new Pool(t.emulator.url, { connections: 16 });
  const dispatcher = pool.compose((dispatch) => (options, handler) => {
    const query = new URLSearchParams(options.path.split('?')[1] ?? '');
    const sig = query.get('usersig');
    if (sig !== null) rec.sigs.add(sig);
    rec.sentAt.push(Date.now());
    return dispatch(options, handler);
  });
  const api = new TencentClient({
    sdkAppId: Number(t.env.TENCENT_SDKAPPID),
    secretKey: t.secretKey,
    endpoint: t.emulator.url,
    dispatcher,
    userSigExpireSeconds: client.userSigExpireSeconds,
    nowSeconds: client.nowSeconds,
    onCall: (e: CallEvent) => {
      if (e.errorCode !== undefined) rec.codes.set(e.errorCode, (rec.codes.get(e.errorCode) ?? 0) + 1);
    },
  });
  const scheduler = createEndpointLimiters({ rate: RATE });
  try {
    const result = await runApplyJob({
      input,
      checkpoint: join(dir, `${name}.ndjson`),
      mode: 'merge',
      assumeEmpty: false,
      api,
      scheduler,
    });
    if (result.run?.fatal !== undefined) throw result.run.fatal;
    return { exit: applyExitCode(result), rec };
  } finally {
    await scheduler.stop();
    await api.close();
    await pool.close();
  }
}

describe('UserSig expiring mid-run', () => {
  let t: TestEmulator;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let input: string;
  let desired: AppState;

  beforeAll(async () => {
    dir = await tempDir('usersig');
    input = join(dir.path, 'input.csv');
    await writeFaultCsv(input, { users: USERS, rowsPerUser: 4, seed: 31 });
    desired = expectedState(input);
    t = await startTestEmulator({ rateLimit: 1000, latencyMs: 2 });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  it('the client re-signs before expiry: no 70001 answer although the first UserSig expires mid-run', async () => {
    t.emulator.reset();
    const expire = 600;
    const start = Date.now();
    const startSeconds = Math.floor(start / 1000);
    // Signed "now" by this clock, a UserSig is valid until startSeconds + 3 s of real time at first;
    // 300 fake seconds (the renewal point for 600 s) pass every 1.5 real seconds.
    const nowSeconds = () => startSeconds - expire + 3 + Math.floor(((Date.now() - start) * 200) / 1000);
    const { exit, rec } = await applyWithClock(t, dir.path, input, 'renew', {
      userSigExpireSeconds: expire,
      nowSeconds,
    });
    // The first UserSig was dead for part of the run: calls went out after it expired.
    const firstExpiry = (startSeconds + 3) * 1000;
    expect(rec.sentAt.filter((at) => at > firstExpiry + 500).length).toBeGreaterThan(50);
    expect(rec.codes.get(70001) ?? 0).toBe(0);
    expect(rec.sigs.size).toBeGreaterThanOrEqual(2);
    expect(exit).toBe(0);
    expect(t.state()).toEqual(desired);
  });

  it('70001 mid-run: the client re-signs once and the run continues and completes', async () => {
    t.emulator.reset();
    const expire = 86_400; // the cache would renew after ~19 h: it never does on its own here
    const nowSeconds = () => Math.floor(Date.now() / 1000) - expire + 2;
    const { exit, rec } = await applyWithClock(t, dir.path, input, 'refused', {
      userSigExpireSeconds: expire,
      nowSeconds,
    });
    expect(rec.codes.get(70001) ?? 0).toBeGreaterThan(0);
    expect(rec.sigs.size).toBeGreaterThanOrEqual(2);
    expect(exit).toBe(0);
    expect(t.state()).toEqual(desired);
    expect(duplicateNames(t.emulator)).toEqual([]);
  });
});
