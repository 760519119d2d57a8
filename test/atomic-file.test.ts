import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commitTemp,
  discardTemp,
  pendingTempPaths,
  sweepStaleTemps,
  tempPathFor,
  writeFileAtomic,
} from '../src/atomic-file.js';
import { tempDir } from './faults/fixtures.js';

const ATOMIC_FILE = fileURLToPath(new URL('../dist/atomic-file.js', import.meta.url));

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('atomic-file');
});
afterAll(async () => {
  await dir?.remove();
});

describe('temporary files beside their target', () => {
  it('are remembered until committed or discarded, and nothing is left pending after a write', async () => {
    const target = join(dir.path, 'kept.txt');
    const tmp = tempPathFor(target);
    expect(tmp).toMatch(new RegExp(`/\\.kept\\.txt\\.${process.pid}\\.[0-9a-f]{8}\\.tmp$`));
    expect(pendingTempPaths()).toContain(tmp);
    await writeFile(tmp, 'one');
    await commitTemp(tmp, target);
    expect(pendingTempPaths()).not.toContain(tmp);
    expect(await readFile(target, 'utf8')).toBe('one');

    const dropped = tempPathFor(target);
    await writeFile(dropped, 'two');
    await discardTemp(dropped);
    expect(existsSync(dropped)).toBe(false);
    expect(pendingTempPaths()).not.toContain(dropped);

    const before = pendingTempPaths().length;
    await writeFileAtomic(target, 'three');
    expect(pendingTempPaths()).toHaveLength(before);
    expect(await readFile(target, 'utf8')).toBe('three');
    expect(readdirSync(dir.path).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it("left by a process that is gone (kill -9) are removed by the next commit of the same file; a live process's stay", async () => {
    const sub = join(dir.path, 'sweep');
    await mkdir(sub, { recursive: true });
    // A pid that ran and is gone.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const live = process.ppid;
    const names = [
      `.state.${dead}.0badc0de.tmp`, // stale: removed
      `.state.${live}.0badc0de.tmp`, // its process runs: kept
      `.state.${dead}.not-hex!.tmp`, // not one of our names: kept
      `.other.${dead}.0badc0de.tmp`, // another file's: kept
      `state.${dead}.0badc0de.tmp`, // not hidden, not ours: kept
    ];
    for (const name of names) await writeFile(join(sub, name), 'half');
    await writeFileAtomic(join(sub, 'state'), 'whole');
    expect(readdirSync(sub).sort()).toEqual([...names.slice(1), 'state'].sort());
    // The check of whether a pid runs is the caller's to give (the lock's takeover uses the same one).
    await sweepStaleTemps(join(sub, 'state'), () => false);
    expect(readdirSync(sub).sort()).toEqual([...names.slice(2), 'state'].sort());
  });

  it('still there when the process ends through process.exit are removed; committed files stay', async () => {
    // What a second Ctrl-C does mid-write: process.exit, with no chance to run the write's own cleanup.
    const script = `
      import { writeFileSync } from 'node:fs';
      import { commitTemp, tempPathFor } from ${JSON.stringify(ATOMIC_FILE)};
      const dir = process.argv[1];
      const done = tempPathFor(dir + '/done.txt');
      writeFileSync(done, 'done');
      await commitTemp(done, dir + '/done.txt');
      writeFileSync(tempPathFor(dir + '/plan.ndjson'), 'half a plan');
      writeFileSync(tempPathFor(dir + '/state'), 'half a snapshot');
      process.exit(130);
    `;
    const child = promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, dir.path]);
    await expect(child).rejects.toMatchObject({ code: 130 });
    expect(readdirSync(dir.path).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(await readFile(join(dir.path, 'done.txt'), 'utf8')).toBe('done');
  });
});
