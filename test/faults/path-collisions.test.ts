import { createHash } from 'node:crypto';
import { link, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { FailuresWriter } from '../../src/sync/failures-file.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { memoryIo } from '../helpers/io.js';
import { CANONICAL_HEADER, tempDir, writeFaultCsv } from './fixtures.js';

/**
 * Issue 12, item 1: an output that names an input or another output of the same run (the same
 * name, another spelling, a hard link, a symbolic link) is refused before anything is written or
 * called: exit 1, a message naming both flags, no call, every file in the folder byte-identical.
 * `apply ff.csv --failures ff.csv`, the natural retry of a failures file, truncated its input.
 */
describe('outputs that name an input or another output', () => {
  let t: TestEmulator;
  let dir: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    dir = await tempDir('paths');
    t = await startTestEmulator();
    await writeFaultCsv(join(dir.path, 'export.csv'), { users: 30, rowsPerUser: 3, seed: 4 });
    // A failures file from an earlier run: itself a valid input.
    await writeFile(
      join(dir.path, 'ff.csv'),
      `${CANONICAL_HEADER},error_code,error_message,line\r\nu1,Family,1,p1,,50004,busy,2\r\n`,
    );
    await writeFile(join(dir.path, 'state.json'), '{"format":"cgsync-state","version":1}\n');
    await writeFile(join(dir.path, 'run.ndjson'), '');
    await writeFile(join(dir.path, 'key.txt'), `${t.secretKey}\n`, { mode: 0o600 });
    await mkdir(join(dir.path, 'sub'));
    await link(join(dir.path, 'export.csv'), join(dir.path, 'hardlink.csv'));
    await symlink(join(dir.path, 'export.csv'), join(dir.path, 'symlink.csv'));
    await symlink(dir.path, join(dir.path, 'linked-dir'));
    await symlink(join(dir.path, 'not-yet.csv'), join(dir.path, 'dangling.csv'));
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  /** Every file of the folder (links as their target's bytes) by name, as digests. */
  async function snapshot(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const name of (await readdir(dir.path)).sort()) {
      if (name === 'sub' || name === 'linked-dir' || name === 'dangling.csv') continue;
      out[name] = createHash('sha256')
        .update(await readFile(join(dir.path, name)))
        .digest('hex');
    }
    return out;
  }

  const apply = (input: string, ...rest: string[]) => ['apply', input, '--checkpoint', 'run.ndjson', ...rest];
  const cases: readonly { name: string; args: string[]; flags: RegExp }[] = [
    {
      name: 'a failures file retried into itself',
      args: apply('ff.csv', '--failures', 'ff.csv'),
      flags: /the input and --failures/,
    },
    {
      name: '--failures = the input',
      args: apply('export.csv', '--failures', 'export.csv'),
      flags: /the input and --failures/,
    },
    {
      name: '--state = the input',
      args: apply('export.csv', '--state', 'export.csv'),
      flags: /the input and --state/,
    },
    {
      name: '--state = --checkpoint',
      args: apply('export.csv', '--state', 'run.ndjson'),
      flags: /--checkpoint and --state/,
    },
    {
      name: '--failures = --checkpoint',
      args: apply('export.csv', '--failures', 'run.ndjson'),
      flags: /--checkpoint and --failures/,
    },
    {
      name: "--failures = --checkpoint's lock",
      args: apply('export.csv', '--failures', 'run.ndjson.lock'),
      flags: /--checkpoint's lock and --failures/,
    },
    {
      name: '--failures = --state',
      args: apply('export.csv', '--failures', 'state.json', '--state', 'state.json'),
      flags: /--failures and --state/,
    },
    {
      name: "--backup = --state's record of its last input",
      args: apply('export.csv', '--mode', 'mirror', '--backup', 'state.json.input', '--state', 'state.json'),
      flags: /--backup and --state's record of its last input/,
    },
    {
      name: '--checkpoint = the input',
      args: ['apply', 'export.csv', '--checkpoint', 'export.csv'],
      flags: /the input and --checkpoint/,
    },
    {
      name: '--failures = --secret-key-file',
      args: apply('export.csv', '--secret-key-file', 'key.txt', '--failures', 'key.txt'),
      flags: /--secret-key-file and --failures/,
    },
    {
      name: 'through ./sub/..',
      args: apply('export.csv', '--failures', './sub/../export.csv'),
      flags: /the input and --failures/,
    },
    {
      name: 'through a hard link',
      args: apply('export.csv', '--failures', 'hardlink.csv'),
      flags: /the input and --failures/,
    },
    {
      name: 'through a symbolic link',
      args: apply('symlink.csv', '--state', 'export.csv'),
      flags: /the input and --state/,
    },
    {
      name: 'through a linked folder',
      args: apply('export.csv', '--failures', 'linked-dir/export.csv'),
      flags: /the input and --failures/,
    },
    {
      name: 'two outputs, one a dangling link to the other',
      args: apply('export.csv', '--failures', 'dangling.csv', '--state', 'not-yet.csv'),
      flags: /--failures and --state/,
    },
    {
      name: 'plan --out = the input',
      args: ['plan', 'export.csv', '--assume-empty', '--out', 'export.csv'],
      flags: /the input and --out/,
    },
    {
      name: 'plan --report = the input',
      args: ['plan', 'export.csv', '--assume-empty', '--report', 'linked-dir/export.csv'],
      flags: /the input and --report/,
    },
    {
      name: 'plan --out = --report',
      args: ['plan', 'export.csv', '--assume-empty', '--out', 'r.md', '--report', 'r.md'],
      flags: /--out and --report/,
    },
    {
      name: 'plan --report twice',
      args: ['plan', 'export.csv', '--assume-empty', '--report', 'r.html', '--report', './r.html'],
      flags: /--report and --report/,
    },
    {
      name: 'emulator --state-file = --known-users',
      args: ['emulator', '--port', '0', '--known-users', 'ff.csv', '--state-file', './sub/../ff.csv'],
      flags: /--known-users and --state-file/,
    },
  ];

  it.each(cases)('$name: exit 1 naming both, no call, every file byte-identical', async ({ args, flags }) => {
    t.emulator.reset();
    const before = await snapshot();
    const io = memoryIo(t.env, dir.path);
    const code = await runCli(
      [...args, '--json'].filter((a) => !(args[0] === 'emulator' && a === '--json')),
      io,
    );
    expect(code, io.err()).toBe(1);
    expect(io.err()).toMatch(flags);
    expect(io.err()).toMatch(/name the same file .*nothing was written and no call was made/);
    expect(io.err().trim().split('\n').at(-1)).toMatch(/^error: /);
    if (args[0] !== 'emulator') {
      expect(JSON.parse(io.out())).toMatchObject({
        exitCode: 1,
        status: 'fatal',
        error: expect.stringMatching(flags),
      });
    }
    const stats = t.emulator.stats().endpoints;
    expect(Object.values(stats).reduce((n, e) => n + e.accepted + e.rateLimited, 0)).toBe(0);
    expect(await snapshot()).toEqual(before);
  });

  it('demo --input inside --dir (which the demo empties first) is refused before anything is removed', async () => {
    const before = await snapshot();
    const io = memoryIo({}, dir.path);
    expect(await runCli(['demo', '--input', 'export.csv', '--dir', '.'], io)).toBe(1);
    expect(io.err()).toMatch(/--input .*export\.csv is inside --dir .*, which the demo empties first/);
    expect(await snapshot()).toEqual(before);
  });

  it('distinct files still run, and - (standard input) never collides', async () => {
    t.emulator.reset();
    const io = memoryIo(t.env, dir.path);
    const code = await runCli(
      ['apply', 'ff.csv', '--checkpoint', 'ok.ndjson', '--failures', 'ff-again.csv'],
      io,
    );
    expect(code, io.err()).toBe(0);
    const { checkPathCollisions } = await import('../../src/cli/paths.js');
    await expect(
      checkPathCollisions(
        [
          { flag: 'the input', path: '-', role: 'input' },
          { flag: '--out', path: '-', role: 'output' },
        ],
        dir.path,
      ),
    ).resolves.toBeUndefined();
  });
});

describe('outputs written whole: a temporary file beside the target, renamed when complete', () => {
  it('the failures file: the previous one stays until close, then is replaced; no temporary file is left', async () => {
    const d = await tempDir('failures-atomic');
    try {
      const path = join(d.path, 'failures.csv');
      await writeFile(path, 'previous run\n');
      const writer = FailuresWriter.create(path);
      writer.writeFailed({ user: 'u', group: 'g', action: 'create', errorCode: 1, message: 'x', opId: '' });
      await new Promise((r) => setTimeout(r, 20));
      expect(await readFile(path, 'utf8')).toBe('previous run\n');
      const tmp = (await readdir(d.path)).filter((f) => f !== 'failures.csv');
      expect(tmp).toHaveLength(1);
      expect(tmp[0]).toMatch(/^\.failures\.csv\.\d+\.[0-9a-f]{8}\.tmp$/);
      await writer.close();
      expect(await readFile(path, 'utf8')).toMatch(/^From_Account,.*\r\nu,g,/);
      expect(await readdir(d.path)).toEqual(['failures.csv']);
    } finally {
      await d.remove();
    }
  });

  it('apply: a run that fails while reading its input (after rejecting rows) keeps the previous failures file', async () => {
    const d = await tempDir('failures-kept');
    try {
      const rows = Array.from({ length: 50 }, (_, i) => `u${i},,1,p${i},`).join('\n');
      await writeFile(join(d.path, 'bad.csv'), `${CANONICAL_HEADER}\n${rows}\nu,"unclosed\n`);
      await writeFile(join(d.path, 'failures.csv'), 'the previous run\n');
      const io = memoryIo(
        { TENCENT_SDKAPPID: '1400000000', TENCENT_SECRET_KEY: 'k', TENCENT_ENDPOINT: 'http://127.0.0.1:9' },
        d.path,
      );
      expect(
        await runCli(['apply', 'bad.csv', '--checkpoint', 'c.ndjson', '--failures', 'failures.csv'], io),
      ).toBe(1);
      expect(io.err()).toMatch(/Invalid CSV at line 52/);
      expect(await readFile(join(d.path, 'failures.csv'), 'utf8')).toBe('the previous run\n');
      expect((await readdir(d.path)).sort()).toEqual(['bad.csv', 'failures.csv']);
    } finally {
      await d.remove();
    }
  });

  it('plan --out and --report: a run that fails leaves the previous files as they were', async () => {
    const d = await tempDir('plan-atomic');
    try {
      await writeFaultCsv(join(d.path, 'in.csv'), { users: 5, rowsPerUser: 2 });
      await writeFile(join(d.path, 'bad.csv'), `${CANONICAL_HEADER}\nu,"unclosed\n`);
      const io = memoryIo({}, d.path);
      const args = ['--assume-empty', '--out', 'p.ndjson', '--report', 'r.md'];
      expect(await runCli(['plan', 'in.csv', ...args], io)).toBe(0);
      const plan = await readFile(join(d.path, 'p.ndjson'));
      const report = await readFile(join(d.path, 'r.md'));
      expect(await runCli(['plan', 'bad.csv', ...args], memoryIo({}, d.path))).toBe(1);
      expect(await readFile(join(d.path, 'p.ndjson'))).toEqual(plan);
      expect(await readFile(join(d.path, 'r.md'))).toEqual(report);
      expect((await readdir(d.path)).sort()).toEqual(['bad.csv', 'in.csv', 'p.ndjson', 'r.md']);
    } finally {
      await d.remove();
    }
  });
});
