import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { CLI_MAIN } from '../helpers/cli-process.js';
import { memoryIo } from '../helpers/io.js';

const ENV = { TENCENT_SDKAPPID: '1400000000', TENCENT_SECRET_KEY: 'k'.repeat(64) };

describe('cgsync emulator', () => {
  it('prints its real port first, serves, and stops on abort', async () => {
    const controller = new AbortController();
    const io = memoryIo(ENV, process.cwd(), controller.signal);
    const running = runCli(['emulator', '--port', '0', '--page-size', '2'], io);
    let line = '';
    for (let i = 0; i < 100 && line === ''; i++) {
      await new Promise((r) => setTimeout(r, 20));
      line = io.out().split('\n')[0] ?? '';
    }
    expect(line).toMatch(/^emulator listening on http:\/\/127\.0\.0\.1:\d+$/);
    const url = line.replace('emulator listening on ', '');
    const stats = await fetch(`${url}/__emulator/stats`);
    expect(stats.status).toBe(200);
    controller.abort();
    expect(await running).toBe(0);
  });

  it('refuses a bad option with what was expected', async () => {
    const io = memoryIo(ENV);
    expect(await runCli(['emulator', '--fault-rate', '2'], io)).toBe(1);
    expect(io.err()).toContain('Expected --fault-rate to be a probability from 0 to 1, got "2"');
  });

  it('takes every reading and fault as a flag (the options object gets each one)', async () => {
    const controller = new AbortController();
    const io = memoryIo(ENV, process.cwd(), controller.signal);
    const running = runCli(
      [
        'emulator',
        '--port',
        '0',
        '--marked-per-user',
        '3',
        '--contact-item-required',
        '--old-group-name-limit',
        '32',
        '--items-one-by-one',
        '--applied-fault-rate',
        '0',
        '--malformed-rate',
        '0',
        '--fault-mix',
        '51007:0,50003:0',
        '--item-fault-rate',
        '0',
        '--item-fault-mix',
        '51007:0',
      ],
      io,
    );
    let line = '';
    for (let i = 0; i < 100 && line === ''; i++) {
      await new Promise((r) => setTimeout(r, 20));
      line = io.out().split('\n')[0] ?? '';
    }
    const url = line.replace('emulator listening on ', '');
    const { TencentClient } = await import('../../src/tencent/client.js');
    const client = new TencentClient({
      sdkAppId: 1400000000,
      secretKey: ENV.TENCENT_SECRET_KEY,
      endpoint: url,
    });
    const page = await client.getGroupsPage('anyone', 0);
    expect(page.conversations.filter((c) => c.groupIds.length === 0)).toHaveLength(3);
    await client.createGroup('anyone', 'n'.repeat(40), []);
    await expect(
      client.updateGroupMembers('anyone', 'n'.repeat(40), { add: [{ type: 1, id: 'x' }], remove: [] }),
    ).rejects.toThrow(/ErrorCode 51011/);
    await client.close();
    controller.abort();
    expect(await running).toBe(0);
  });

  it('refuses a malformed fault mix, naming the part', async () => {
    const io = memoryIo(ENV);
    expect(await runCli(['emulator', '--fault-mix', '51007:0.1,oops'], io)).toBe(1);
    expect(io.err()).toContain('Expected --fault-mix to be ErrorCode:probability pairs');
    expect(io.err()).toContain('"oops"');
    const sum = memoryIo(ENV);
    expect(
      await runCli(['emulator', '--port', '0', '--fault-rate', '0.6', '--fault-mix', '51007:0.6'], sum),
    ).toBe(1);
    expect(sum.err()).toContain('add up to at most 1');
  });

  it('refuses a non-loopback host unless allowed', async () => {
    const io = memoryIo(ENV);
    expect(await runCli(['emulator', '--port', '0', '--host', '0.0.0.0'], io)).toBe(1);
    expect(io.err()).toContain('loopback');
  });

  it('runs as a process: first stdout line, then exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI_MAIN, 'emulator', '--port', '0'], {
      env: { ...process.env, ...ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = createInterface({ input: child.stdout });
    const [first] = (await once(lines, 'line')) as [string];
    expect(first).toMatch(/^emulator listening on http:\/\/127\.0\.0\.1:\d+$/);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
  });
});
