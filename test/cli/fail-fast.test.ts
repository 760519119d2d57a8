import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { expectedState } from '../helpers/expected-state.js';
import { spawnCli } from '../helpers/spawn-cli.js';

/**
 * Fail fast and the backup domain, as a user meets them: the real process, the real sockets.
 * A wrong key or a dead endpoint ends in seconds with the cause (no minute of silent retries); a
 * main endpoint that keeps refusing connections gives way to the backup one, and says so.
 */

let dir: string;
let t: TestEmulator;
let closedPort: number;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-fail-fast-'));
  await writeFile(
    join(dir, 'in.csv'),
    'From_Account,GroupName,Type,To_Account,ToGroupId\nalice,Family,1,bob,\nalice,Work,2,,@TGS#1\nbob,Empty,,,\n',
  );
  t = await startTestEmulator();
  // A port nobody listens on: bind one, note it, close it.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closedPort = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
afterAll(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

async function cgsync(args: string[], env: Record<string, string>) {
  const started = Date.now();
  const exit = await spawnCli(args, { env, cwd: dir, timeoutMs: 30_000 }).exited;
  return { ...exit, ms: Date.now() - started };
}

describe('fail fast', () => {
  it.each([
    ['apply', ['apply', 'in.csv', '--checkpoint', 'wrong-key.ndjson']],
    ['plan', ['plan', 'in.csv']],
    ['verify', ['verify', 'in.csv']],
  ])(
    'a wrong key: %s ends in seconds with the code and what to check (exit 1), nothing written',
    async (_name, args) => {
      const r = await cgsync(args, { ...t.env, TENCENT_SECRET_KEY: 'not-the-key' });
      expect(r.code).toBe(1);
      expect(r.ms).toBeLessThan(10_000);
      expect(r.stderr).toContain('The credentials check failed');
      expect(r.stderr).toContain('ErrorCode 70009');
      expect(r.stderr).toContain('check the SecretKey');
      expect(r.stderr + r.stdout).not.toContain('not-the-key');
      expect(t.state()).toEqual({});
    },
  );

  it('a wrong SDKAppID names the SDKAppID and the region', async () => {
    const r = await cgsync(['plan', 'in.csv'], { ...t.env, TENCENT_SDKAPPID: '1400000001' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ErrorCode (60006|70014)/);
  });

  it('a closed port: ends in seconds naming the endpoint and ECONNREFUSED (exit 1)', async () => {
    const endpoint = `http://127.0.0.1:${closedPort}`;
    const r = await cgsync(['apply', 'in.csv', '--checkpoint', 'closed.ndjson', '--json'], {
      ...t.env,
      TENCENT_ENDPOINT: endpoint,
    });
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(10_000);
    const summary = JSON.parse(r.stdout);
    expect(summary.status).toBe('fatal');
    expect(summary.error).toContain(`The service at ${endpoint} cannot be reached`);
    expect(summary.error).toContain('ECONNREFUSED');
  });

  it('a bad input makes no call at all, not even the check', async () => {
    await writeFile(join(dir, 'bad.csv'), 'no,header,here\n');
    const before = t.totalAccepted();
    const r = await cgsync(['apply', 'bad.csv', '--checkpoint', 'bad.ndjson'], t.env);
    expect(r.code).toBe(1);
    expect(t.totalAccepted()).toBe(before);
  });
});

describe('the backup domain', () => {
  it('a main endpoint that keeps refusing connections gives way to the backup one, with a warning', async () => {
    t.emulator.reset();
    const r = await cgsync(['apply', 'in.csv', '--checkpoint', 'backup.ndjson', '--json'], {
      ...t.env,
      TENCENT_ENDPOINT: `http://127.0.0.1:${closedPort}`,
      TENCENT_BACKUP_ENDPOINT: t.emulator.url,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `http://127.0.0.1:${closedPort} failed to connect 3 times in a row (ECONNREFUSED): switching to the backup domain ${t.emulator.url}`,
    );
    expect(t.state()).toEqual(expectedState(join(dir, 'in.csv')));
  });

  it('--backup-domain needs a region; --backup-endpoint needs an endpoint', async () => {
    const a = await cgsync(['plan', 'in.csv', '--backup-domain'], t.env);
    expect(a.code).toBe(1);
    expect(a.stderr).toContain('--backup-domain needs a region');
    const { TENCENT_ENDPOINT: _, ...noEndpoint } = t.env;
    const b = await cgsync(['plan', 'in.csv', '--backup-endpoint', t.emulator.url], {
      ...noEndpoint,
      TENCENT_REGION: 'tokyo',
    });
    expect(b.code).toBe(1);
    expect(b.stderr).toContain('--backup-endpoint goes with --endpoint');
  });
});
