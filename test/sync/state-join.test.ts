import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEndpointLimiters } from '../../src/executor/rate/limiters.js';
import { runApplyJob } from '../../src/sync/apply-job.js';
import type { ApplyJobOptions } from '../../src/sync/apply-types.js';
import { openStateFile, type StateRecord } from '../../src/sync/state-file.js';
import { TencentClient } from '../../src/tencent/client.js';
import { expectedState } from '../helpers/expected-state.js';
import { useJobHarness } from '../helpers/job-harness.js';

/**
 * The `--state` snapshot merge-joined with the input (users on both sides, only in the input, only
 * in the snapshot), and mirror's guard decided from the snapshot before any vanished user is read.
 * Reads are counted at the emulator.
 */
const h = useJobHarness('state-join', { emulator: { rateLimit: 10_000 } });

const HEADER = 'From_Account,GroupName,Type,To_Account,ToGroupId';
/** `user: [conversations of Family]` (plus one group Work with one conversation for even users). */
function rowsOf(users: Record<string, readonly string[]>): string[] {
  return Object.entries(users).flatMap(([user, peers]) => [
    ...peers.map((p) => `${user},Family,1,${p},`),
    ...(Number(user.replace(/\D/g, '')) % 2 === 0 ? [`${user},Work,2,,@TGS#${user}`] : []),
  ]);
}

async function night(name: string, rows: readonly string[], extra: Partial<ApplyJobOptions> = {}) {
  const input = join(h.dir.path, `${name}.csv`);
  await writeFile(input, `${[HEADER, ...rows].join('\n')}\n`);
  const reads = h.t.emulator.stats().endpoints.get_contact_group.accepted;
  const result = await runApplyJob({
    input,
    checkpoint: join(h.dir.path, `${name}.ndjson`),
    mode: 'mirror',
    assumeEmpty: false,
    state: statePath(name),
    api: h.api,
    scheduler: h.scheduler,
    ...extra,
  });
  return { input, result, reads: h.t.emulator.stats().endpoints.get_contact_group.accepted - reads };
}

/** One state file per test: the night's name up to its last `-`. */
const statePath = (name: string): string => join(h.dir.path, `${name.slice(0, name.lastIndexOf('-'))}.state`);

async function snapshot(
  name: string,
  mode: 'mirror' | 'merge' = 'mirror',
): Promise<Map<string, StateRecord>> {
  const source = await openStateFile(statePath(name), { mode, shard: null });
  const out = new Map<string, StateRecord>();
  for await (const r of source.records()) out.set(r.user, r);
  return out;
}

const users = (n: number, from = 0): Record<string, string[]> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`u${i + from}`, [`p${i}a`, `p${i}b`]]));

describe('--state: the snapshot merge-joined with the input', () => {
  it.each(['mirror', 'merge'] as const)(
    '%s: unchanged users make no call, changed and new ones are applied, vanished ones emptied (mirror) or kept (merge)',
    async (mode) => {
      const first = await night(`${mode}-1`, rowsOf(users(10)), { mode });
      expect(first.result.stateSaved).toBe(true);
      expect((await snapshot(`${mode}-1`, mode)).get('u2')).toMatchObject({ memberships: 3, groups: 2 });
      // Night 2: u0-u4 unchanged, u5 changed, u6-u9 vanished, n1 new.
      const second = await night(`${mode}-2`, rowsOf({ ...users(5), u5: ['p5a', 'p5c'], n1: ['q'] }), {
        mode,
        maxDelete: { kind: 'percent', value: 100 },
      });
      expect(second.result.run?.fatal).toBeUndefined();
      expect(second.result.unchangedUsers).toBe(5);
      const state = await snapshot(`${mode}-2`, mode);
      if (mode === 'mirror') {
        // Read: u5, n1 and the four vanished users; nobody else.
        expect(second.reads).toBe(6);
        expect(h.t.state()).toEqual(expectedState(second.input));
        expect([...state.keys()].sort()).toEqual(['n1', 'u0', 'u1', 'u2', 'u3', 'u4', 'u5']);
      } else {
        expect(second.reads).toBe(2);
        expect(h.t.state().u7).toEqual({ Family: ['1:p7a', '1:p7b'] });
        expect([...state.keys()].sort()).toEqual(['n1', ...Object.keys(users(10))].sort());
      }
      expect(state.get('u5')).toMatchObject({ memberships: 2, groups: 1 });
      expect(state.get('n1')).toMatchObject({ memberships: 1, groups: 1 });
      // Night 3, the same export: no call at all.
      const before = h.t.totalAccepted();
      const third = await night(`${mode}-3`, rowsOf({ ...users(5), u5: ['p5a', 'p5c'], n1: ['q'] }), {
        mode,
      });
      expect(third.result.unchangedUsers).toBe(7);
      expect(h.t.totalAccepted() - before).toBe(0);
    },
  );

  it('a night that changes nothing leaves the snapshot file as it is; one that changes a user, or of another mode, writes it', async () => {
    await night('keep-1', rowsOf(users(6)));
    const path = statePath('keep-1');
    const written = await stat(path);
    const text = await readFile(path, 'utf8');
    // The same export: not rewritten (an atomic rewrite would give the file a new inode).
    const same = await night('keep-2', rowsOf(users(6)));
    expect(same.result.stateSaved).toBe(true);
    expect(same.result.unchangedUsers).toBe(6);
    const kept = await stat(path);
    expect([kept.ino, kept.mtimeMs]).toEqual([written.ino, written.mtimeMs]);
    expect(await readFile(path, 'utf8')).toBe(text);
    // One user changed: written, with that user's new record.
    const changed = await night('keep-3', rowsOf({ ...users(6), u3: ['p3a', 'p3b', 'p3c'] }));
    expect(changed.result.unchangedUsers).toBe(5);
    expect((await stat(path)).ino).not.toBe(written.ino);
    expect((await snapshot('keep-3')).get('u3')).toMatchObject({ memberships: 3 });
    // Merge mode on a mirror snapshot: it says nothing of merge, so a merge snapshot is written.
    const merge = await night('keep-4', rowsOf({ ...users(6), u3: ['p3a', 'p3b', 'p3c'] }), {
      mode: 'merge',
    });
    expect(merge.result.stateSaved).toBe(true);
    expect(JSON.parse((await readFile(path, 'utf8')).split('\n')[0] ?? '')).toMatchObject({ mode: 'merge' });
    expect((await snapshot('keep-4', 'merge')).size).toBe(6);
    // Nothing to note, but the file is not a snapshot of this mode (or there is none yet): written.
    await night('empty-1', rowsOf(users(2)));
    await night('empty-2', [], { mode: 'merge' });
    expect(JSON.parse((await readFile(statePath('empty-2'), 'utf8')).split('\n')[0] ?? '')).toMatchObject({
      mode: 'merge',
    });
    const fresh = await night('none-1', [], { mode: 'merge' });
    expect(fresh.result.stateSaved).toBe(true);
    expect((await readFile(statePath('none-1'), 'utf8')).trimEnd().split('\n')).toHaveLength(2);
  });

  it('a version 1 snapshot is read, and rewritten as version 2 with the counts of the users it saw', async () => {
    const path = statePath('v1-1');
    const first = await night('v1-1', rowsOf(users(6)));
    expect(first.result.stateSaved).toBe(true);
    const v1 = {
      format: 'cgsync-state',
      version: 1,
      mode: 'mirror',
      shard: null,
      users: {} as Record<string, string>,
    };
    for (const [user, r] of await snapshot('v1-1')) v1.users[user] = r.digest;
    await writeFile(path, JSON.stringify(v1));
    const before = h.t.totalAccepted();
    const second = await night('v1-2', rowsOf(users(6)));
    expect(second.result.unchangedUsers).toBe(6);
    expect(h.t.totalAccepted() - before).toBe(0);
    expect(JSON.parse((await readFile(path, 'utf8')).split('\n')[0] ?? '')).toMatchObject({ version: 2 });
    expect((await snapshot('v1-2')).get('u4')).toMatchObject({ memberships: 3, groups: 2 });
  });
});

describe('--state: the guard decides before reading users that vanished', () => {
  it('refuses a night that empties most users with zero reads of them; the snapshot stays as it was', async () => {
    const first = await night('guard-1', rowsOf(users(120)));
    expect(first.result.stateSaved).toBe(true);
    const path = statePath('guard-1');
    const before = await readFile(path, 'utf8');
    // One user left in the export, and changed: it alone is read.
    const second = await night('guard-2', rowsOf({ u0: ['p0a', 'new'] }));
    expect(second.result.refused?.ok).toBe(false);
    expect(second.result.refused?.message).toMatch(
      /119 users vanished from the export: .* none of them was read/,
    );
    expect(second.reads).toBe(1);
    expect(await readFile(path, 'utf8')).toBe(before);
    expect(h.t.state()).toEqual(expectedState(first.input));
  });

  it('once it passes, the vanished users are read and emptied as before, and the guard decided again', async () => {
    await night('pass-1', rowsOf(users(20)));
    const second = await night('pass-2', rowsOf(users(19)), { maxDelete: { kind: 'count', value: 3 } });
    expect(second.result.guard).toMatchObject({ ok: true, removed: 2 });
    expect(second.reads).toBe(1);
    expect(h.t.state()).toEqual(expectedState(second.input));
    expect(h.t.state().u19).toBeUndefined();
  });
});

describe('--state: a night that stops part way', () => {
  /** Every one of the 30 users with one more conversation: night 2's export. */
  const moved = () =>
    rowsOf(Object.fromEntries(Object.entries(users(30)).map(([u, peers]) => [u, [...peers, `${u}x`]])));

  /**
   * Night 2 (every user changed), slowly, stopped once 5 updates are accepted: by a signal, or
   * (fatal) by a wrong key on every call from then on (70009, systemic). Returns the updates made.
   */
  async function stoppedNight(name: string, how: 'interrupted' | 'fatal') {
    const stop = new AbortController();
    const slow = createEndpointLimiters({ rate: 20 });
    const writes = () => h.t.emulator.stats().endpoints.update_contact_group.accepted;
    const before = writes();
    const wrongKey = new TencentClient({
      sdkAppId: Number(h.t.env.TENCENT_SDKAPPID),
      secretKey: 'not-the-key',
      endpoint: h.t.emulator.url,
    });
    const failing = new Proxy(h.api, {
      get: (target, key) => {
        const real = writes() - before >= 5 ? wrongKey : target;
        const value: unknown = Reflect.get(real, key);
        return typeof value === 'function' ? value.bind(real) : value;
      },
    });
    const watch = setInterval(() => {
      if (writes() - before >= 5) stop.abort();
    }, 5);
    const second = await night(
      name,
      moved(),
      how === 'interrupted' ? { scheduler: slow, signal: stop.signal } : { scheduler: slow, api: failing },
    ).finally(async () => {
      clearInterval(watch);
      await slow.stop();
      await wrongKey.close();
    });
    if (how === 'interrupted') expect(second.result.run?.interrupted).toBe(true);
    else expect(second.result.run?.fatal).toBeDefined();
    const changed = writes() - before;
    expect(changed).toBeGreaterThanOrEqual(5);
    expect(changed).toBeLessThan(30);
    return changed;
  }

  it.each(['interrupted', 'fatal'] as const)(
    '%s: the users it changed are not trusted to the old snapshot; a later night back to the old export repairs them',
    async (how) => {
      const a = rowsOf(users(30));
      await night(`stop-${how}-1`, a);
      const changed = await stoppedNight(`stop-${how}-2`, how);
      // Night 3, another day (another checkpoint), the export of night 1 again.
      const third = await night(`stop-${how}-3`, a);
      expect(third.result.run?.fatal).toBeUndefined();
      expect(h.t.state()).toEqual(expectedState(third.input));
      // Only users night 2 never got to are trusted to the snapshot.
      expect(third.result.unchangedUsers).toBeLessThanOrEqual(30 - changed);
    },
  );

  it.each(['interrupted', 'fatal'] as const)(
    '%s, mirror: users it met and did not finish are still emptied when they vanish next',
    async (how) => {
      await night(`gone-${how}-1`, rowsOf(users(30)));
      await stoppedNight(`gone-${how}-2`, how);
      // Night 3: only u0-u4 are left in the export; the 25 others vanished, done by night 2 or not.
      const third = await night(`gone-${how}-3`, rowsOf(users(5)), {
        maxDelete: { kind: 'percent', value: 100 },
      });
      expect(third.result.run?.fatal).toBeUndefined();
      expect(h.t.state()).toEqual(expectedState(third.input));
    },
  );
});

describe('--state: the snapshot is bound to the app it was applied to', () => {
  const app = (host: string) => ({ sdkAppId: 1400000000, host });

  it('refuses a snapshot of another app or host before any call; one that records none is adopted', async () => {
    // Written before targets were recorded: read, and rewritten with this run's target though unchanged.
    await night('target-1', rowsOf(users(4)));
    const path = statePath('target-1');
    const same = await night('target-2', rowsOf(users(4)), { target: app('chat.example:443') });
    expect(same.result.unchangedUsers).toBe(4);
    expect(JSON.parse((await readFile(path, 'utf8')).split('\n')[0] ?? '')).toMatchObject({
      target: { sdkAppId: 1400000000, host: 'chat.example:443' },
    });
    const before = h.t.totalAccepted();
    for (const other of [app('other.example:443'), { sdkAppId: 1400000001, host: 'chat.example:443' }]) {
      await expect(night('target-3', rowsOf(users(4)), { target: other })).rejects.toMatchObject({
        code: 'CONFIG',
        message: expect.stringMatching(
          /target\.state was written for SDKAppID 1400000000 at chat\.example:443, but this run targets SDKAppID 140000000[01] at .*: .*one state file per app/,
        ),
      });
    }
    expect(h.t.totalAccepted() - before).toBe(0);
    // The same target again: unchanged, no call.
    const again = await night('target-4', rowsOf(users(4)), { target: app('chat.example:443') });
    expect(again.result.unchangedUsers).toBe(4);
    expect(h.t.totalAccepted() - before).toBe(0);
  });
});
