import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/executor/log/checkpoint.js';
import { compareUserOrder, userOrderKey } from '../../src/reader/index.js';
import {
  openStateFile,
  StateFileWriter,
  type StateIdentity,
  type StateRecord,
  UNKNOWN_DIGEST,
} from '../../src/sync/state-file.js';
import {
  clearStateMark,
  markerPathFor,
  markStateUnsaved,
  repairUnsavedState,
} from '../../src/sync/state-marker.js';
import { tempDir } from '../faults/fixtures.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('state-marker');
});
afterAll(async () => {
  await dir?.remove();
});

const identity: StateIdentity = { mode: 'mirror', shard: null };
const USERS = ['ann', 'bob', 'cat', 'dan', 'eve', 'fay'];

async function snapshot(name: string): Promise<string> {
  const path = join(dir.path, `${name}.state`);
  const out = await StateFileWriter.create(path, identity);
  for (const [i, user] of [...USERS].sort(compareUserOrder).entries()) {
    await out.write({ user, key: userOrderKey(user), digest: 'ab'.repeat(32), memberships: i, groups: 1 });
  }
  await out.commit();
  return path;
}

async function read(path: string): Promise<Map<string, StateRecord>> {
  const out = new Map<string, StateRecord>();
  for await (const r of (await openStateFile(path, identity)).records()) out.set(r.user, r);
  return out;
}

/** A checkpoint in which `begun` were begun (the first of them also ended done). */
async function checkpointOf(name: string, begun: readonly string[]): Promise<string> {
  const path = join(dir.path, `${name}.ndjson`);
  const cp = await openCheckpoint(path, {
    identity: { inputDigest: 'x'.repeat(64), mode: 'mirror', assumeEmpty: false, options: {} },
    toolVersion: 'test',
  });
  for (const user of begun) await cp.begin(user);
  if (begun[0] !== undefined) cp.recordUser({ user: begun[0], outcome: 'done' });
  await cp.close();
  return path;
}

describe('<state>.unsaved: a run that changed users and never saved the snapshot', () => {
  it('no mark: nothing to do, the file is left alone', async () => {
    const path = await snapshot('none');
    expect(await repairUnsavedState(path, identity, {})).toEqual({ kind: 'none' });
  });

  it('the users its checkpoint began (done or not) lose their digest, keeping their counts; the mark goes', async () => {
    const path = await snapshot('repair');
    const checkpoint = await checkpointOf('repair', ['bob', 'eve', 'zed']);
    await markStateUnsaved(path, checkpoint);
    expect(existsSync(markerPathFor(path))).toBe(true);
    const before = await read(path);
    const repair = await repairUnsavedState(path, identity, {});
    // zed was begun but is not in the snapshot: nothing to mark.
    expect(repair).toEqual({ kind: 'repaired', checkpoint, users: 2 });
    const after = await read(path);
    for (const user of USERS) {
      const expected = before.get(user) as StateRecord;
      expect(after.get(user)).toEqual(
        user === 'bob' || user === 'eve' ? { ...expected, digest: UNKNOWN_DIGEST } : expected,
      );
    }
    expect(existsSync(markerPathFor(path))).toBe(false);
    // Done again (a crash right after the rewrite runs it again): the same file.
    await markStateUnsaved(path, checkpoint);
    await repairUnsavedState(path, identity, {});
    expect(await read(path)).toEqual(after);
  });

  it.each([
    ['its checkpoint is gone', async (path: string) => markStateUnsaved(path, join(dir.path, 'gone.ndjson'))],
    ['the mark is damaged', async (path: string) => writeFile(markerPathFor(path), '{"checkp')],
  ])(
    '%s: refused with what to do, the snapshot untouched; --refresh distrusts every line',
    async (_, damage) => {
      const path = await snapshot(`refuse-${_.length}`);
      await damage(path);
      const before = await read(path);
      await expect(repairUnsavedState(path, identity, {})).rejects.toMatchObject({
        code: 'CHECKPOINT',
        message: expect.stringMatching(
          /may not match the app: .* cannot be told: .*Resume that run with its checkpoint, run with --refresh .*, or delete .* to start afresh/,
        ),
      });
      expect(await read(path)).toEqual(before);
      const repair = await repairUnsavedState(path, identity, { refresh: true });
      expect(repair).toMatchObject({ kind: 'refresh', users: USERS.length });
      for (const r of (await read(path)).values()) expect(r.digest).toBe(UNKNOWN_DIGEST);
      expect(existsSync(markerPathFor(path))).toBe(false);
    },
  );

  it('clearing a mark that is not there is fine', async () => {
    await expect(clearStateMark(join(dir.path, 'nothing.state'))).resolves.toBeUndefined();
  });
});
