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

const dist = (path: string) => JSON.stringify(fileURLToPath(new URL(`../dist/${path}`, import.meta.url)));
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

  it('leave nothing behind whenever process.exit comes, even while their file is being created', async () => {
    // A file opened on libuv's thread pool could appear after the exit listener ran (found by CI: a
    // snapshot's temporary file left after a second signal). Every writer starts at once; the exit
    // comes after 0..7 turns of the event loop, or before any.
    const script = `
      import { writeFileAtomic } from ${dist('atomic-file.js')};
      import { StateFileWriter } from ${dist('sync/state-file.js')};
      import { FailuresWriter } from ${dist('sync/failures-file.js')};
      import { acquireLock } from ${dist('executor/log/lock.js')};
      import { createWorkDir } from ${dist('work-dir.js')};
      const [dir, turns] = [process.argv[1], Number(process.argv[2])];
      const quiet = (p) => p.catch(() => undefined);
      quiet(writeFileAtomic(dir + '/plain.json', 'x'));
      quiet(StateFileWriter.create(dir + '/night.state', { mode: 'merge', shard: null }));
      FailuresWriter.create(dir + '/failures.csv').writeFailed({
        user: 'u', group: 'g', action: 'create', errorCode: 1, message: 'x', opId: '',
      });
      quiet(acquireLock(dir + '/run.ndjson'));
      quiet(createWorkDir(dir).then((work) => writeFileAtomic(work + '/staged', 'x')));
      let turn = 0;
      const next = () => (turn++ >= turns ? process.exit(143) : setImmediate(next));
      if (turns < 0) process.exit(143);
      else next();
    `;
    const run = promisify(execFile);
    const sub = join(dir.path, 'exit-race');
    for (let round = 0; round < 4; round++) {
      await Promise.all(
        [-1, 0, 1, 2, 3, 4, 5, 7].map(async (turns) => {
          const here = join(sub, `${round}.${turns}`);
          await mkdir(here, { recursive: true });
          await expect(
            run(process.execPath, ['--input-type=module', '-e', script, here, String(turns)]),
          ).rejects.toMatchObject({ code: 143 });
          // Only files moved into place may stay, and the lock (linked by the pool just after the exit:
          // its process is gone, so the next run takes it over). No temporary file or working directory.
          const done = ['plain.json', 'night.state', 'run.ndjson.lock'];
          const left = readdirSync(here).filter((n) => !done.includes(n));
          expect(left, `exit after ${turns} turns`).toEqual([]);
        }),
      );
    }
  });
});
