import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import type { JobPhase } from '../../src/sync/phase.js';
import { CLI_MAIN } from '../helpers/cli-process.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { expectedState } from '../helpers/expected-state.js';
import { memoryIo } from '../helpers/io.js';

/**
 * The files a run leaves (issue 14): every output 0600 whatever the umask (the metrics file 0644, for
 * node_exporter), `--metrics-file` in Prometheus text format, the state file's lock, `-` as the input.
 */

let dir: string;
let t: TestEmulator;
const CSV = 'user,group,type,peer\nalice,Family,1,bob\nalice,Family,,\nbob,Work,2,@TGS#1\n,nogroup,1,x\n';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-run-files-'));
  t = await startTestEmulator();
  await writeFile(join(dir, 'in.csv'), CSV);
});
afterAll(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs the built CLI with `umask 000` and `stdin` piped in; never rejects. */
function cgsync(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; cwd?: string } = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const quoted = [CLI_MAIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    const child = spawn('bash', ['-c', `umask 000 && exec "${process.execPath}" ${quoted}`], {
      cwd: options.cwd ?? dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...t.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdin.end(options.stdin ?? '');
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

const mode = async (name: string): Promise<number> => (await stat(join(dir, name))).mode & 0o777;

describe('every output is private, whatever the umask', () => {
  it('plan, apply and export outputs are 0600; the metrics file is 0644 (node_exporter reads it)', async () => {
    const plan = await cgsync([
      'plan',
      'in.csv',
      '--out',
      'p.ndjson',
      '--report',
      'r.html',
      '--report',
      'r.md',
      '--failures',
      'plan-failures.csv',
    ]);
    expect(plan.code, plan.err).toBe(0);
    const apply = await cgsync([
      'apply',
      'in.csv',
      '--checkpoint',
      'cp.ndjson',
      '--failures',
      'f.csv',
      '--state',
      'state.json',
      '--metrics-file',
      'run.prom',
    ]);
    expect(apply.code, apply.err).toBe(4);
    const exported = await cgsync(['export', '--input', 'in.csv', '--out', 'backup.csv']);
    expect(exported.code, exported.err).toBe(0);
    for (const name of [
      'p.ndjson',
      'r.html',
      'r.md',
      'plan-failures.csv',
      'cp.ndjson',
      'f.csv',
      'state.json',
      'backup.csv',
    ]) {
      expect(await mode(name), name).toBe(0o600);
    }
    expect(await mode('run.prom')).toBe(0o644);
    expect((await readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
  }, 90_000);
});

/** The value of a metric line (with its labels) in a Prometheus text file. */
function metric(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('--metrics-file', () => {
  it('Prometheus text format; the last success is kept when a later run fails', async () => {
    t.emulator.reset();
    await rm(join(dir, 'm.prom'), { force: true });
    const ok = memoryIo(t.env, dir);
    expect(
      await runCli(['apply', 'in.csv', '--checkpoint', 'm1.ndjson', '--metrics-file', 'm.prom'], ok),
    ).toBe(4);
    let text = await readFile(join(dir, 'm.prom'), 'utf8');
    for (const line of text.trimEnd().split('\n')) {
      expect(line).toMatch(
        /^(# (HELP|TYPE) cgsync_[a-z_]+ .+|cgsync_[a-z_]+\{run="m",command="apply"[^}]*\} [0-9.e+]+)$/,
      );
    }
    expect(metric(text, 'cgsync_last_run_exit_code')).toBe(4);
    expect(metric(text, 'cgsync_last_run_calls', 'endpoint="create_contact_group"')).toBe(2);
    expect(metric(text, 'cgsync_last_run_users', 'outcome="done"')).toBe(2);
    expect(metric(text, 'cgsync_last_success_timestamp_seconds')).toBe(0);
    // Now a clean run: exit 0 is a success.
    await writeFile(join(dir, 'clean.csv'), 'user,group,type,peer\ncarol,G,1,x\n');
    expect(
      await runCli(
        ['apply', 'clean.csv', '--checkpoint', 'm2.ndjson', '--metrics-file', 'm.prom'],
        memoryIo(t.env, dir),
      ),
    ).toBe(0);
    text = await readFile(join(dir, 'm.prom'), 'utf8');
    const success = metric(text, 'cgsync_last_success_timestamp_seconds') as number;
    expect(success).toBe(metric(text, 'cgsync_last_run_timestamp_seconds'));
    expect(success).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(metric(text, 'cgsync_last_run_duration_seconds')).toBeGreaterThan(0);
    // A run that fails before any call (a missing input): exit 1, no call, the last success kept.
    expect(
      await runCli(
        ['apply', 'nope.csv', '--checkpoint', 'm3.ndjson', '--metrics-file', 'm.prom'],
        memoryIo(t.env, dir),
      ),
    ).toBe(1);
    text = await readFile(join(dir, 'm.prom'), 'utf8');
    expect(metric(text, 'cgsync_last_run_exit_code')).toBe(1);
    expect(metric(text, 'cgsync_last_run_calls', 'endpoint="create_contact_group"')).toBe(0);
    expect(metric(text, 'cgsync_last_success_timestamp_seconds')).toBe(success);
  });

  it('refuses a metrics file that names another file of the run', async () => {
    const io = memoryIo(t.env, dir);
    expect(
      await runCli(['apply', 'in.csv', '--checkpoint', 'cp-x.ndjson', '--metrics-file', 'in.csv'], io),
    ).toBe(1);
    expect(io.err()).toContain('the input and --metrics-file name the same file');
  });
});

describe("the nightly job's lock covers its --state file", () => {
  it('two runs with different checkpoints and one state file never both run', async () => {
    t.emulator.reset();
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let writing: () => void = () => undefined;
    const reached = new Promise<void>((r) => {
      writing = r;
    });
    const first = memoryIo(t.env, dir);
    const onPhase = (phase: JobPhase) => {
      if (phase !== 'write') return;
      writing();
      return held;
    };
    const args = (cp: string) => [
      'apply',
      'in.csv',
      '--mode',
      'mirror',
      '--state',
      'night.json',
      '--checkpoint',
      cp,
    ];
    const running = runCli(args('night-1.ndjson'), { ...first, onPhase });
    await reached;
    const second = memoryIo(t.env, dir);
    expect(await runCli(args('night-2.ndjson'), second)).toBe(1);
    expect(second.err()).toMatch(/state file .*night\.json is in use \(pid \d+/);
    release();
    expect(await running, first.err()).toBe(4);
    // Released at the end: the next night runs.
    expect(await runCli(args('night-3.ndjson'), memoryIo(t.env, dir))).toBe(4);
  });
});

describe('- reads standard input', () => {
  it('plan and apply from standard input; a resumed run from standard input still sees a different input', async () => {
    t.emulator.reset();
    const spool = join(dir, 'spool');
    await mkdir(spool);
    const env = { TMPDIR: spool };
    const plan = await cgsync(['plan', '-', '--json'], { env, stdin: CSV });
    expect(plan.code, plan.err).toBe(0);
    expect(JSON.parse(plan.out).rows).toEqual({ total: 4, rejected: 1 });
    const apply = await cgsync(['apply', '-', '--checkpoint', 'stdin.ndjson', '--json'], { env, stdin: CSV });
    expect(apply.code, apply.err).toBe(4);
    expect(t.state()).toEqual(expectedState(join(dir, 'in.csv')));
    const other = await cgsync(['apply', '-', '--checkpoint', 'stdin.ndjson'], {
      env,
      stdin: 'user,group,type,peer\nzed,G,1,x\n',
    });
    expect(other.code).toBe(1);
    expect(other.err).toContain('belongs to a different run');
    const again = await cgsync(['apply', '-', '--checkpoint', 'stdin.ndjson'], { env, stdin: CSV });
    expect(again.code, again.err).toBe(4);
    expect(again.err).toContain('nothing to do');
    // The private copies are gone.
    expect(await readdir(spool)).toEqual([]);
  }, 120_000);

  it('apply - --state twice: the same export piped again is answered from <state>.input (mode 0600)', async () => {
    t.emulator.reset();
    const clean = 'user,group,type,peer\nann,Family,1,bob\nann,Work,2,@TGS#w\nbob,Family,1,ann\n';
    const args = (cp: string) => [
      'apply',
      '-',
      '--mode',
      'mirror',
      '--state',
      'piped.state',
      '--checkpoint',
      cp,
      '--json',
    ];
    const first = await cgsync(args('piped-1.ndjson'), { stdin: clean });
    expect(first.code, first.err).toBe(0);
    expect(await mode('piped.state.input')).toBe(0o600);
    const before = t.totalAccepted();
    const second = await cgsync(args('piped-2.ndjson'), { stdin: clean });
    expect(second.code, second.err).toBe(0);
    expect(second.err).toMatch(
      /piped\.state: the input is the one its last run settled in full \(3 rows.*its 2 users are unchanged, no row was read/,
    );
    expect(JSON.parse(second.out).users).toMatchObject({ unchanged: 2, done: 0 });
    expect(t.totalAccepted()).toBe(before);
    // Another export: read in full.
    const third = await cgsync(args('piped-3.ndjson'), { stdin: `${clean}bob,Work,1,ann\n` });
    expect(third.code, third.err).toBe(0);
    expect(third.err).not.toContain('no row was read');
    expect(JSON.parse(third.out).users).toMatchObject({ unchanged: 1, done: 1 });
  });

  it('a plan file from standard input is applied; a terminal is refused', async () => {
    t.emulator.reset();
    expect(await runCli(['plan', 'in.csv', '--out', 'piped.ndjson'], memoryIo(t.env, dir))).toBe(0);
    const plan = await readFile(join(dir, 'piped.ndjson'));
    const io = { ...memoryIo(t.env, dir), stdin: Readable.from([plan]) };
    expect(await runCli(['apply', '-', '--checkpoint', 'piped-cp.ndjson'], io), io.err()).toBe(0);
    const tty = Object.assign(Readable.from([]), { isTTY: true });
    const refused = { ...memoryIo(t.env, dir), stdin: tty };
    expect(await runCli(['plan', '-', '--assume-empty'], refused)).toBe(1);
    expect(refused.err()).toContain('which is a terminal');
  });
});
