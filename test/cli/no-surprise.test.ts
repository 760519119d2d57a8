import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peekTarget, resolveConnection } from '../../src/cli/config.js';
import { runCli } from '../../src/cli/run.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { memoryIo } from '../helpers/io.js';

/** A CLI that cannot surprise (issue 14): flags beat the environment, the target is told, help is complete. */

const KEY = { TENCENT_SDKAPPID: '1400000000', TENCENT_SECRET_KEY: 'k' };

describe('a flag always beats the environment', () => {
  it('--region wins over TENCENT_ENDPOINT (and its backup) in the environment', () => {
    const env = {
      ...KEY,
      TENCENT_ENDPOINT: 'http://127.0.0.1:9',
      TENCENT_BACKUP_ENDPOINT: 'http://127.0.0.1:8',
    };
    const c = resolveConnection({ region: 'singapore' }, env, '/');
    expect(c.baseUrl.host).toBe('adminapisgp.im.qcloud.com');
    expect(c.endpoint).toBeUndefined();
    expect(c.backupEndpoint).toBeUndefined();
    expect(peekTarget({ region: 'singapore' }, env)).toEqual({
      sdkAppId: 1400000000,
      host: 'adminapisgp.im.qcloud.com',
    });
  });

  it('--endpoint wins over TENCENT_REGION and TENCENT_BACKUP_DOMAIN in the environment', () => {
    const env = { ...KEY, TENCENT_REGION: 'tokyo', TENCENT_BACKUP_DOMAIN: '1' };
    const c = resolveConnection({ endpoint: 'http://127.0.0.1:7' }, env, '/');
    expect(c.baseUrl.host).toBe('127.0.0.1:7');
    expect(c.backupDomain).toBe(false);
    expect(c.warnings).toEqual([]);
  });

  it('--sdkappid and --admin beat theirs; both targets in the environment: the endpoint, with a warning', () => {
    const env = {
      ...KEY,
      TENCENT_ADMIN: 'env-admin',
      TENCENT_REGION: 'tokyo',
      TENCENT_ENDPOINT: 'http://127.0.0.1:7',
    };
    const c = resolveConnection({ sdkappid: '1400000001', admin: 'flag-admin' }, env, '/');
    expect([c.sdkAppId, c.admin, c.baseUrl.host]).toEqual([1400000001, 'flag-admin', '127.0.0.1:7']);
    expect(c.warnings.join('\n')).toContain(
      'TENCENT_ENDPOINT and TENCENT_REGION are both set: using the endpoint',
    );
  });

  it('both flags are still refused, and an unset environment still names what is missing', () => {
    expect(() => resolveConnection({ region: 'tokyo', endpoint: 'http://127.0.0.1:7' }, KEY, '/')).toThrow(
      'give either --region or --endpoint, not both',
    );
    expect(() => resolveConnection({}, KEY, '/')).toThrow('no target');
  });
});

describe('against the emulator', () => {
  let t: TestEmulator;
  let dir: string;
  beforeAll(async () => {
    t = await startTestEmulator();
    dir = await mkdtemp(join(tmpdir(), 'cgsync-no-surprise-'));
    await writeFile(join(dir, 'in.csv'), 'user,group,type,peer\nalice,Family,1,bob\nbob,Empty,,\n');
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('--endpoint on the command line beats a TENCENT_ENDPOINT pointing elsewhere', async () => {
    const io = memoryIo({ ...t.env, TENCENT_ENDPOINT: 'http://127.0.0.1:9' }, dir);
    const code = await runCli(
      ['apply', 'in.csv', '--endpoint', t.emulator.url, '--checkpoint', 'flag.ndjson'],
      io,
    );
    expect(code, io.err()).toBe(0);
    expect(Object.keys(t.state()).sort()).toEqual(['alice', 'bob']);
  });

  it('apply prints its target (SDKAppID and host, never the key) before the first call', async () => {
    t.emulator.reset();
    // A dead endpoint: the run fails on its first call, after the target was told.
    const dead = memoryIo({ ...t.env, TENCENT_ENDPOINT: 'http://127.0.0.1:9' }, dir);
    expect(await runCli(['apply', 'in.csv', '--checkpoint', 'dead.ndjson'], dead)).toBe(1);
    const lines = dead.err().split('\n');
    expect(lines[0]).toBe('target: SDKAppID 1400000000 at 127.0.0.1:9');
    expect(dead.err()).not.toContain(t.secretKey);
    const ok = memoryIo(t.env, dir);
    expect(await runCli(['apply', 'in.csv', '--checkpoint', 'ok.ndjson'], ok)).toBe(0);
    expect(ok.err().split('\n')[0]).toBe(`target: SDKAppID 1400000000 at ${new URL(t.emulator.url).host}`);
  });

  it('--quiet: nothing on stderr when all is well; --log-level warn keeps warnings only', async () => {
    t.emulator.reset();
    const quiet = memoryIo(t.env, dir);
    expect(
      await runCli(['apply', 'in.csv', '--checkpoint', 'quiet.ndjson', '--quiet', '--json'], quiet),
    ).toBe(0);
    expect(quiet.err()).toBe('');
    expect(JSON.parse(quiet.out()).status).toBe('ok');
    const loud = memoryIo(t.env, dir);
    expect(await runCli(['apply', 'in.csv', '--checkpoint', 'quiet.ndjson'], loud)).toBe(0);
    expect(loud.err()).toContain('nothing to do');
    const warn = memoryIo(t.env, dir);
    expect(await runCli(['verify', 'in.csv', '--log-level', 'warn'], warn)).toBe(0);
    expect(warn.err()).toBe('');
    expect(warn.out()).toContain('all 2 users match');
    const bad = memoryIo(t.env, dir);
    expect(await runCli(['verify', 'in.csv', '--log-level', 'loud'], bad)).toBe(1);
    expect(bad.err()).toContain("argument 'loud' is invalid");
  });
});

/** Options that name what to read or write, or a value from the environment: no default to show. */
const NO_DEFAULT = new Set([
  '--sdkappid',
  '--secret-key-file',
  '--region',
  '--endpoint',
  '--backup-endpoint',
  '--checkpoint',
  '--out',
  '--report',
  '--failures',
  '--backup',
  '--state',
  '--redis',
  '--metrics-file',
  '--input',
  '--users',
  '--known-users',
  '--state-file',
  '--fault-mix',
  '--item-fault-mix',
  '--sdkappid',
]);

describe('--help shows every default', () => {
  it.each(['plan', 'apply', 'verify', 'export', 'emulator', 'usersig', 'demo'])('%s', async (command) => {
    const io = memoryIo({});
    expect(await runCli([command, '--help'], io)).toBe(0);
    // Each option's entry: its flags line and the description lines under it.
    const entries = io
      .out()
      .split(/\n(?= {2}-)/)
      .filter((e) => /^ {2}--/.test(e.trimEnd()) || e.startsWith('  --'));
    expect(entries.length).toBeGreaterThanOrEqual(2);
    const checked: string[] = [];
    for (const entry of entries) {
      const m = /^\s*(--[a-z-]+)(?: <[^>]+>)?/.exec(entry);
      const flag = m?.[1] ?? '';
      const takesValue = /^\s*--[a-z-]+ </.test(entry);
      if (!takesValue || NO_DEFAULT.has(flag) || flag === '--help') continue;
      expect(entry.replace(/\s+/g, ' '), `${command} ${flag}`).toMatch(/default: /);
      checked.push(flag);
    }
    // The options with a value whose default matters, read from the help itself.
    const expected: Record<string, string> = { demo: '--dir', usersig: '--expire', emulator: '--latency' };
    expect(checked).toContain(expected[command] ?? '--log-level');
  });
});
