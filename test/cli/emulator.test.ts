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
