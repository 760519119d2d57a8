import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  apply,
  type Client,
  createClient,
  exportState,
  type ProgressEvent,
  plan,
  type RunningEmulator,
  startEmulator,
  verify,
} from '../../src/index.js';
import { inShard } from '../../src/planner/shard.js';
import { appState } from '../helpers/emulator.js';

const USERS = 120;
const secretKey = randomBytes(16).toString('hex');
const sdkAppId = 1400000000;

/** USERS users, two groups each of three conversations. */
function csv(): string {
  const rows = ['From_Account,GroupName,Type,To_Account,ToGroupId'];
  for (let u = 0; u < USERS; u++) {
    const user = `lib_${String(u).padStart(3, '0')}`;
    for (const group of ['Work', 'Family']) {
      for (let c = 0; c < 3; c++) rows.push(`${user},${group},1,peer_${group}_${c},`);
    }
  }
  return `${rows.join('\n')}\n`;
}

describe('the library against startEmulator(), in process', () => {
  let dir: string;
  let emulator: RunningEmulator;
  let client: Client;
  let input: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cgsync-lib-'));
    input = join(dir, 'groups.csv');
    await writeFile(input, csv());
    emulator = await startEmulator({ sdkAppId, secretKey, latencyMs: 2 });
    client = await createClient({ sdkAppId, secretKey, endpoint: emulator.url, rate: 150 });
  });

  afterAll(async () => {
    await client?.close();
    await emulator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('plans, applies (stopped mid-apply by its AbortSignal, then resumed), verifies and exports', async () => {
    expect(client.target).toEqual({ sdkAppId, host: new URL(emulator.url).host });

    const planned = await plan({ input, client, out: join(dir, 'plan.ndjson') });
    expect(planned.users).toBe(USERS);
    expect(planned.usersWithChanges).toBe(USERS);
    expect(planned.rows).toEqual({ total: USERS * 6, rejected: 0 });
    expect(planned.calls.create_contact_group).toBe(USERS * 2);

    const checkpoint = join(dir, 'run.checkpoint');
    const controller = new AbortController();
    const events: ProgressEvent[] = [];
    const stopped = await apply({
      input,
      checkpoint,
      client,
      signal: controller.signal,
      progressIntervalMs: 20,
      onProgress: (event) => {
        events.push(event);
        if (event.type === 'progress' && event.usersDone >= 10) controller.abort();
      },
    });
    expect(stopped.status).toBe('interrupted');
    const firstDone = stopped.users?.done ?? 0;
    expect(firstDone).toBeGreaterThanOrEqual(10);
    expect(firstDone).toBeLessThan(USERS);
    expect(Object.keys(appState(emulator.store.state())).length).toBeLessThan(USERS);
    const phases = events.flatMap((e) => (e.type === 'phase' ? [e.phase] : []));
    expect(phases).toEqual(['scan', 'write', 'flush']);
    expect(events.some((e) => e.type === 'progress' && e.calls > 0)).toBe(true);

    const resumedEvents: ProgressEvent[] = [];
    const resumed = await apply({
      input,
      checkpoint,
      client,
      progressIntervalMs: 20,
      onProgress: (event) => resumedEvents.push(event),
    });
    expect(resumed.status).toBe('ok');
    // The events carry the total: the users done before count from the first one, the last is 100%.
    const live = resumedEvents.flatMap((e) => (e.type === 'progress' ? [e] : []));
    expect(live[0]).toMatchObject({ unit: 'users', total: USERS, usersAlreadyDone: firstDone });
    expect(live.at(-1)).toMatchObject({ unit: 'users', total: USERS, done: USERS, percent: 100 });
    expect(resumed.users?.alreadyDone).toBe(firstDone);
    expect((resumed.users?.done ?? 0) + firstDone).toBe(USERS);
    expect(resumed.operations?.failed).toBe(0);
    const state = appState(emulator.store.state());
    expect(Object.keys(state)).toHaveLength(USERS);
    expect(state.lib_007).toEqual({
      Family: ['1:peer_Family_0', '1:peer_Family_1', '1:peer_Family_2'],
      Work: ['1:peer_Work_0', '1:peer_Work_1', '1:peer_Work_2'],
    });

    const verified = await verify({ input, client, mode: 'mirror' });
    expect(verified).toMatchObject({ users: USERS, usersWithDrift: 0, usersUnreadable: 0, rejectedRows: 0 });

    const backup = join(dir, 'backup.csv');
    const exported = await exportState({ input, out: backup, client });
    expect(exported).toMatchObject({ status: 'ok', users: USERS, exported: USERS, memberships: USERS * 6 });
    const again = await plan({ input: backup, client, mode: 'mirror' });
    expect(again.usersWithChanges).toBe(0);

    // Nothing the library hands back carries the key.
    const everything = JSON.stringify([planned, stopped, resumed, verified, exported, events]);
    expect(everything).not.toContain(secretKey);
  });

  it("progress events carry a total, percentage and ETA for a scattered CSV and a shard's users", async () => {
    const rows = ['From_Account,GroupName,Type,To_Account,ToGroupId'];
    for (const group of ['a', 'b']) for (let u = 0; u < 80; u++) rows.push(`sc_${u},${group},1,p_${u},`);
    const scattered = join(dir, 'scattered.csv');
    await writeFile(scattered, `${rows.join('\n')}\n`);
    const shard = { index: 0, count: 2 };
    const mine = Array.from({ length: 80 }, (_, u) => `sc_${u}`).filter((u) => inShard(u, shard)).length;
    const events: ProgressEvent[] = [];
    const result = await apply({
      input: scattered,
      checkpoint: join(dir, 'scattered.checkpoint'),
      client,
      shard: '0/2',
      progressIntervalMs: 20,
      onProgress: (event) => events.push(event),
    });
    expect(result.status).toBe('ok');
    expect(result.users?.done).toBe(mine);
    const live = events.flatMap((e) => (e.type === 'progress' ? [e] : []));
    expect(live.length).toBeGreaterThan(1);
    for (const e of live) {
      expect(e).toMatchObject({ unit: 'users', total: mine, usersTotal: mine });
      expect(e.percent).toBeLessThanOrEqual(100);
    }
    expect(live.at(-1)).toMatchObject({ done: mine, percent: 100 });
  });

  it("a job's summary counts its own calls: not another job's on the same client (one after another or at once), nor the client's check", async () => {
    const job = async (tag: string, users: number) => {
      const rows = ['From_Account,GroupName,Type,To_Account,ToGroupId'];
      for (let u = 0; u < users; u++) rows.push(`${tag}_${u},a,1,p_${u},`, `${tag}_${u},b,1,p_${u},`);
      const file = join(dir, `${tag}.csv`);
      await writeFile(file, `${rows.join('\n')}\n`);
      const events: ProgressEvent[] = [];
      const result = await apply({
        input: file,
        checkpoint: join(dir, `${tag}.checkpoint`),
        client,
        assumeEmpty: true,
        progressIntervalMs: 20,
        onProgress: (event) => events.push(event),
      });
      return { result, last: events.flatMap((e) => (e.type === 'progress' ? [e] : [])).at(-1) };
    };
    // Two creates per user and nothing else: no read (assumeEmpty), and the client's check was made
    // by createClient, before these jobs.
    const [one, two] = await Promise.all([job('own_a', 25), job('own_b', 40)]);
    const three = await job('own_c', 10);
    for (const [{ result, last }, users] of [
      [one, 25],
      [two, 40],
      [three, 10],
    ] as const) {
      expect(result.status).toBe('ok');
      expect(result.endpoints?.create_contact_group.calls).toBe(users * 2);
      expect(result.endpoints?.get_contact_group.calls).toBe(0);
      expect(result.endpoints?.update_contact_group.calls).toBe(0);
      expect(last?.calls).toBe(users * 2);
    }
  });

  it('a signal already aborted: apply says interrupted and writes nothing; plan and verify reject INTERRUPTED', async () => {
    const before = emulator.stats();
    const signal = AbortSignal.abort();
    const result = await apply({ input, checkpoint: join(dir, 'other.checkpoint'), client, signal });
    expect(result).toMatchObject({ status: 'interrupted', users: undefined, failedItems: 0 });
    await expect(plan({ input, client, signal })).rejects.toMatchObject({ code: 'INTERRUPTED' });
    await expect(verify({ input, client, signal })).rejects.toMatchObject({ code: 'INTERRUPTED' });
    const writes = (s: typeof before) =>
      s.endpoints.create_contact_group.accepted + s.endpoints.update_contact_group.accepted;
    expect(writes(emulator.stats())).toBe(writes(before));
  });

  it('a plan file brings its options; a wrong key fails in createClient with AUTH, without the key', async () => {
    const out = join(dir, 'mirror-plan.ndjson');
    await plan({ input, client, mode: 'mirror', out });
    // An option set to undefined is its default: the plan's mode, not a conflict with it.
    const result = await apply({
      input: out,
      checkpoint: join(dir, 'plan.checkpoint'),
      client,
      mode: undefined,
    });
    expect(result.status).toBe('ok');
    await expect(
      apply({ input: out, checkpoint: join(dir, 'plan2.checkpoint'), client, mode: 'merge' }),
    ).rejects.toThrow(/--mode merge conflicts with the plan's --mode mirror/);
    expect((await readFile(out, 'utf8')).includes(secretKey)).toBe(false);

    const wrong = 'f'.repeat(32);
    const refused = createClient({ sdkAppId, secretKey: wrong, endpoint: emulator.url });
    await expect(refused).rejects.toMatchObject({ code: 'AUTH' });
    await refused.catch((err: Error) => expect(err.message).not.toContain(wrong));
  });

  it('as an adversary would use it: a stop in the read phase, two runs on one checkpoint, a closed client, a listener that throws', async () => {
    const writes = () => {
      const e = emulator.stats().endpoints;
      return e.create_contact_group.accepted + e.update_contact_group.accepted + e.del_contact_group.accepted;
    };
    const before = writes();
    const stdout = vi.spyOn(process.stdout, 'write');
    const stderr = vi.spyOn(process.stderr, 'write');
    const exit = vi.spyOn(process, 'exit');
    try {
      // Mirror, stopped while it reads the app (before the guard, before any write).
      const controller = new AbortController();
      const phases: string[] = [];
      const inRead = await apply({
        input,
        checkpoint: join(dir, 'mirror.checkpoint'),
        client,
        mode: 'mirror',
        signal: controller.signal,
        onProgress: (event) => {
          if (event.type !== 'phase') return;
          phases.push(event.phase);
          if (event.phase === 'read') controller.abort();
        },
      });
      expect(inRead.status).toBe('interrupted');
      expect(phases).toEqual(['scan', 'read']);
      expect(writes()).toBe(before);

      // Two runs on one checkpoint at once: one of them is refused by the lock, nothing is written twice.
      const both = await Promise.allSettled([
        apply({ input, checkpoint: join(dir, 'shared.checkpoint'), client }),
        apply({ input, checkpoint: join(dir, 'shared.checkpoint'), client }),
      ]);
      const refused = both.filter((r) => r.status === 'rejected');
      expect(refused).toHaveLength(1);
      expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'LOCKED' });

      // A listener that throws cannot break the job.
      const noisy = await apply({
        input,
        checkpoint: join(dir, 'noisy.checkpoint'),
        client,
        progressIntervalMs: 10,
        onProgress: () => {
          throw new Error('listener failed');
        },
      });
      expect(noisy.status).toBe('ok');

      // A closed client is refused before any work.
      const other = await createClient({ sdkAppId, secretKey, endpoint: emulator.url });
      await other.close();
      await expect(verify({ input, client: other })).rejects.toThrow(/verify\(\): the client was closed/);

      // The library never prints and never exits.
      expect(stdout).not.toHaveBeenCalled();
      expect(stderr).not.toHaveBeenCalled();
      expect(exit).not.toHaveBeenCalled();
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
      exit.mockRestore();
    }
  });
});
