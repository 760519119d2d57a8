import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/emulator/persistence.js';
import { startEmulator } from '../../src/emulator/server.js';
import { isSyncError } from '../../src/errors.js';
import { c2c, createBody, deleteBody } from './builders.js';
import { call, SDK_APP_ID, SECRET_KEY } from './http.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-emulator-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = { sdkAppId: SDK_APP_ID, secretKey: SECRET_KEY };

async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('state file', () => {
  it('survives stop and start, and GroupIds are not reused after a restart', async () => {
    const stateFile = join(dir, 'state.json');
    const first = await startEmulator({ ...base, stateFile });
    await call(first.url, 'create_contact_group', createBody('u', 'a', [c2c('x')]));
    await call(first.url, 'create_contact_group', createBody('u', 'b'));
    await call(first.url, 'del_contact_group', deleteBody('u', 'b'));
    const state = first.store.state();
    await first.close();

    const saved = JSON.parse(await readFile(stateFile, 'utf8'));
    expect(saved).toMatchObject({ version: 1, users: { u: { nextGroupId: 3 } } });
    expect(await readFile(stateFile, 'utf8')).not.toContain(SECRET_KEY);

    const second = await startEmulator({ ...base, stateFile });
    try {
      expect(second.store.state()).toEqual(state);
      const res = await call(second.url, 'create_contact_group', createBody('u', 'c'));
      expect(res.json).toMatchObject({ GroupResultItem: [{ GroupItem: { GroupId: 3 } }] });
    } finally {
      await second.close();
    }
    expect(JSON.parse(await readFile(stateFile, 'utf8')).users.u.groups).toHaveLength(2);
  });

  it('writes while running (debounced), not only on close', async () => {
    const stateFile = join(dir, 'running.json');
    const emu = await startEmulator({ ...base, stateFile, persistDebounceMs: 10 });
    try {
      await call(emu.url, 'create_contact_group', createBody('u', 'a'));
      await until(async () => {
        try {
          return JSON.parse(await readFile(stateFile, 'utf8')).users.u !== undefined;
        } catch {
          return false;
        }
      });
    } finally {
      await emu.close();
    }
  });

  it('refuses to start on a corrupt state file with CHECKPOINT', async () => {
    const stateFile = join(dir, 'corrupt.json');
    await writeFile(stateFile, '{"users": ');
    await expect(startEmulator({ ...base, stateFile })).rejects.toSatisfy((e: unknown) =>
      isSyncError(e, 'CHECKPOINT'),
    );
    await writeFile(stateFile, '{"users": {"u": [{"groupId": 0, "name": "a", "members": []}]}}');
    await expect(startEmulator({ ...base, stateFile })).rejects.toSatisfy((e: unknown) =>
      isSyncError(e, 'CHECKPOINT'),
    );
  });

  it('writeFileAtomic replaces the file and leaves no temporary file behind', async () => {
    const sub = await mkdtemp(join(dir, 'atomic-'));
    const path = join(sub, 'f.json');
    await writeFileAtomic(path, 'one');
    await writeFileAtomic(path, 'two');
    expect(await readFile(path, 'utf8')).toBe('two');
    expect(await readdir(sub)).toEqual(['f.json']);
  });
});
