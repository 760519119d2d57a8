import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator, startEmulator as StartEmulator } from '../../src/emulator/server.js';
import { c2c, createBody } from './builders.js';
import { apiUrl, call, SDK_APP_ID, SECRET_KEY } from './http.js';

/**
 * The emulator's HTTP side on its own thread (src/emulator/http-front.ts, http-thread.ts), here with
 * the whole emulator built (dist/, built by test/global-setup.ts). The other emulator tests run the
 * core from the sources, with the same built HTTP thread (worker threads run built code).
 */
const DIST_SERVER = new URL('../../dist/emulator/server.js', import.meta.url).href;
let startBuilt: typeof StartEmulator;

beforeAll(async () => {
  ({ startEmulator: startBuilt } = (await import(DIST_SERVER)) as { startEmulator: typeof StartEmulator });
});

const running: RunningEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function start(options: Partial<Parameters<typeof StartEmulator>[0]> = {}): Promise<RunningEmulator> {
  const emu = await startBuilt({ sdkAppId: SDK_APP_ID, secretKey: SECRET_KEY, httpThread: true, ...options });
  running.push(emu);
  return emu;
}

describe('emulator with HTTP on its own thread', () => {
  it('serves signed calls, refuses bad ones, applies changes to the store on this thread', async () => {
    const emu = await start();
    const created = await call(emu.url, 'create_contact_group', createBody('u', 'g', [c2c('a')]));
    expect(created).toMatchObject({ status: 200, json: { ActionStatus: 'OK', ErrorCode: 0 } });
    expect(emu.store.state().users.u?.[0]?.name).toBe('g');
    const refused = await call(emu.url, 'create_contact_group', createBody('u', 'h'), { usersig: 'x' });
    expect(refused.json).toMatchObject({ ActionStatus: 'FAIL', ErrorCode: 70003 });
    const notJson = await call(emu.url, 'get_contact_group', {}, { rawBody: '{"From_Account":' });
    expect(notJson.json).toMatchObject({ ErrorCode: 60003 });
    const stats = (await (await fetch(`${emu.url}/__emulator/stats`)).json()) as unknown;
    expect(stats).toEqual(emu.stats());
    expect(emu.stats().endpoints.create_contact_group.accepted).toBe(1);
    const missing = await fetch(`${emu.url}/elsewhere`);
    expect([missing.status, await missing.text()]).toEqual([404, 'not found']);
  });

  it('answers a body over 1 MiB with 60003 and takes a multi-byte body whole', async () => {
    const emu = await start();
    const big = await call(emu.url, 'get_contact_group', {}, { rawBody: `"${'x'.repeat(1024 * 1024 + 1)}"` });
    expect(big.json).toMatchObject({ ErrorCode: 60003 });
    const name = '家人👨‍👩‍👧';
    await call(emu.url, 'create_contact_group', createBody('u', name, [c2c('a')]));
    expect(emu.store.state().users.u?.[0]?.name).toBe(name);
  });

  it('applies a lost call and drops its connection; answers 502 without applying', async () => {
    const lost = await start({ lostRate: 1 });
    await expect(call(lost.url, 'create_contact_group', createBody('u', 'g'))).rejects.toMatchObject({
      message: 'fetch failed',
      cause: { code: expect.stringMatching(/^(UND_ERR_SOCKET|ECONNRESET)$/) },
    });
    expect(lost.store.state().users.u?.[0]?.name).toBe('g');
    const bad = await start({ http502Rate: 1 });
    const res = await fetch(apiUrl(bad.url, 'create_contact_group'), {
      method: 'POST',
      body: JSON.stringify(createBody('u', 'g')),
    });
    expect(res.status).toBe(502);
    await res.text();
    expect(bad.store.state()).toEqual({ users: {} });
  });

  it('delays answers by latencyMs from arrival', async () => {
    const emu = await start({ latencyMs: 150 });
    const started = performance.now();
    await call(emu.url, 'get_contact_group', { From_Account: 'u', StartIndex: 0 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('reports a port in use as CONFIG', async () => {
    const emu = await start();
    await expect(start({ port: emu.port })).rejects.toMatchObject({ code: 'CONFIG' });
  });

  it('close() drops keep-alive connections and pending answers, and is idempotent', async () => {
    const emu = await startBuilt({
      sdkAppId: SDK_APP_ID,
      secretKey: SECRET_KEY,
      httpThread: true,
      latencyMs: 60_000,
    });
    const pending = call(emu.url, 'get_contact_group', { From_Account: 'u', StartIndex: 0 }).then(
      () => 'answered',
      () => 'dropped',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const outcome = await Promise.race([
      Promise.all([emu.close(), emu.close()]).then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('still open'), 2500).unref()),
    ]);
    expect(outcome).toBe('closed');
    expect(await pending).toBe('dropped');
    await expect(fetch(`${emu.url}/__emulator/stats`)).rejects.toMatchObject({
      message: 'fetch failed',
      cause: { code: 'ECONNREFUSED' },
    });
  });

  /**
   * Another process sends a call every 150 ms (never more than 2 in any 300 ms) while this thread,
   * the emulator's store thread, is blocked for 700 ms. With HTTP on this thread the calls that came
   * in meanwhile are seen together when it is free again, and some are refused with 60007; with HTTP
   * on its own thread each call counts from when it arrived, and none is refused.
   */
  it.each([
    ['its own thread', true, 0],
    ['the store thread (as a baseline: the bunching this avoids)', false, 1],
  ] as const)('with HTTP on %s, a blocked store thread refuses %s calls', async (_, httpThread, atLeast) => {
    const server = await start({ httpThread, rateLimit: 3, rateLimitWindowMs: 300 });
    const url = apiUrl(server.url, 'get_contact_group');
    const client = spawn(
      process.execPath,
      [
        '-e',
        `const url = process.argv[1];
         const codes = [];
         let left = 10;
         console.log('start');
         for (let i = 0; i < 10; i++) setTimeout(() => {
           fetch(url, { method: 'POST', body: '{"From_Account":"u","StartIndex":0}' })
             .then((r) => r.json()).then((j) => codes.push(j.ErrorCode), () => codes.push(-1))
             .finally(() => { if (--left === 0) console.log(JSON.stringify(codes)); });
         }, i * 150);`,
        url,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    client.stdout.setEncoding('utf8');
    const started = new Promise<void>((resolve) =>
      client.stdout.on('data', (chunk: string) => {
        out += chunk;
        if (out.startsWith('start')) resolve();
      }),
    );
    await started;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const until = performance.now() + 700;
    while (performance.now() < until) {
      // blocked, as by a long garbage collection
    }
    await once(client, 'exit');
    const codes = JSON.parse(out.split('\n')[1] ?? '[]') as number[];
    expect(codes).toHaveLength(10);
    const refused = codes.filter((c) => c === 60007).length;
    expect(server.stats().endpoints.get_contact_group.rateLimited).toBe(refused);
    if (atLeast === 0) expect(refused).toBe(0);
    else expect(refused).toBeGreaterThanOrEqual(atLeast);
    expect(codes.filter((c) => c !== 60007 && c !== 0)).toEqual([]);
  });
});
