import { afterEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { createBody } from './builders.js';
import { apiUrl, SDK_APP_ID, SECRET_KEY } from './http.js';

type Outcome = 'ok' | 'http502' | 50004 | 50005 | 'lost' | `other:${string}`;

const running: RunningEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function start(extra: Record<string, unknown> = {}): Promise<RunningEmulator> {
  const emu = await startEmulator({
    sdkAppId: SDK_APP_ID,
    secretKey: SECRET_KEY,
    seed: 2024,
    faultRate: 0.2,
    http502Rate: 0.15,
    lostRate: 0.15,
    ...extra,
  });
  running.push(emu);
  return emu;
}

async function send(emu: RunningEmulator, command: string, body: unknown): Promise<Outcome> {
  let res: Response;
  try {
    res = await fetch(apiUrl(emu.url, command), { method: 'POST', body: JSON.stringify(body) });
  } catch {
    return 'lost';
  }
  if (res.status === 502) {
    await res.text();
    return 'http502';
  }
  const json = (await res.json()) as { ErrorCode: number };
  if (json.ErrorCode === 0) return 'ok';
  if (json.ErrorCode === 50004 || json.ErrorCode === 50005) return json.ErrorCode;
  return `other:${json.ErrorCode}`;
}

/** Sends `n` creates one after the other, each for its own user so that none fails on a limit. */
async function sequence(emu: RunningEmulator, n: number): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (let i = 0; i < n; i++) out.push(await send(emu, 'create_contact_group', createBody(`user${i}`, 'g')));
  return out;
}

describe('fault injection over HTTP', () => {
  it('gives the same faults for the same seed, each kind counted in stats', async () => {
    const first = await sequence(await start(), 40);
    const again = await start();
    expect(await sequence(again, 40)).toEqual(first);
    const kinds = new Set(first);
    for (const kind of ['ok', 'http502', 'lost'] as const) expect(kinds.has(kind)).toBe(true);
    expect(kinds.has(50004) || kinds.has(50005)).toBe(true);
    expect(first.some((o) => String(o).startsWith('other'))).toBe(false);
    const stats = again.stats().endpoints.create_contact_group;
    expect(stats.accepted).toBe(40);
    expect(stats.faults).toEqual({
      http502: first.filter((o) => o === 'http502').length,
      transient: first.filter((o) => o === 50004 || o === 50005).length,
      lost: first.filter((o) => o === 'lost').length,
      applied: 0,
      malformed: 0,
      mix: 0,
    });
    const other = await start({ seed: 7 });
    expect(await sequence(other, 40)).not.toEqual(first);
  });

  it('applies lost calls and ok calls, and never 502 or transient ones', async () => {
    const emu = await start();
    const outcomes = await sequence(emu, 40);
    const users = emu.store.state().users;
    outcomes.forEach((outcome, i) => {
      const applied = users[`user${i}`] !== undefined;
      expect([outcome, applied]).toEqual([outcome, outcome === 'ok' || outcome === 'lost']);
    });
  });

  it('restarts the fault sequence on reset', async () => {
    const emu = await start();
    const first = await sequence(emu, 20);
    emu.reset();
    expect(await sequence(emu, 20)).toEqual(first);
  });

  it('spares endpoints left out of faultEndpoints', async () => {
    const emu = await start({
      faultEndpoints: ['create_contact_group'],
      faultRate: 0.5,
      http502Rate: 0.5,
      lostRate: 0,
    });
    for (let i = 0; i < 20; i++) {
      expect(await send(emu, 'get_contact_group', { From_Account: 'u', StartIndex: 0 })).toBe('ok');
    }
    const creates = await sequence(emu, 10);
    expect(creates.every((o) => o !== 'ok')).toBe(true);
    expect(emu.stats().endpoints.get_contact_group.faults).toEqual({
      transient: 0,
      http502: 0,
      lost: 0,
      applied: 0,
      malformed: 0,
      mix: 0,
    });
  });
});
