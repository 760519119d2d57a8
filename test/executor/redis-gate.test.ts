import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { isSyncError, type SyncError } from '../../src/errors.js';
import { createRedisGate } from '../../src/executor/rate/redis-gate.js';
import type { Endpoint } from '../../src/tencent/wire.js';
import { REDIS_SERVER, type RunningRedis, startRedis } from '../helpers/redis-server.js';

const EP: Endpoint = 'get_contact_group';

// Against a real redis-server and the real emulator (the gate's pure parts are unit tested in
// slot-pump.test.ts and redis-gate.unit.test.ts). Every gate runs in its own Node process (on the
// built code: test/global-setup.ts builds dist/), so this process only hosts the emulator and its
// timestamps are not skewed by the drivers' work.

const SDK_APP_ID = 1400000000;
const SECRET_KEY = '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e';

interface DriveResult {
  /** Calls started (each after one acquire). */
  calls: number;
  failures: string[];
  /** Date.now() of the first and last call start. */
  first: number;
  last: number;
}

/**
 * One process: waits for "go <until>" on stdin, then creates its gate (its own Redis connection), prints
 * "ready", and starts get_contact_group calls from 16 loops as fast as the gate allows until `until`.
 */
const DRIVER = `
const { createRedisGate } = await import(process.env.GATE_MODULE);
const { TencentClient } = await import(process.env.CLIENT_MODULE);
const { createInterface } = await import('node:readline');
const client = new TencentClient({ sdkAppId: ${SDK_APP_ID}, secretKey: process.env.SECRET_KEY, endpoint: process.env.EMULATOR_URL });
process.stdout.write('loaded\\n');
const lines = createInterface({ input: process.stdin });
const [, until] = (await new Promise((resolve) => lines.once('line', resolve))).split(' ').map(Number);
lines.close();
const gate = await createRedisGate({ url: process.env.REDIS_URL, keyPrefix: process.env.KEY_PREFIX });
process.stdout.write('ready\\n');
const result = { calls: 0, failures: [], first: Infinity, last: 0 };
await Promise.all(Array.from({ length: 16 }, async (_, n) => {
  while (Date.now() < until) {
    await gate.acquire('${EP}');
    const now = Date.now();
    result.first = Math.min(result.first, now);
    result.last = now;
    result.calls++;
    await client.getGroupsPage('user' + n, 0).catch((e) => result.failures.push(String(e && e.message)));
  }
}));
await gate.close();
await client.close();
process.stdout.write(JSON.stringify(result) + '\\n');
`;

const distUrl = (path: string) => new URL(`../../dist/${path}`, import.meta.url).href;

function startDriver(redisUrl: string, emulatorUrl: string, keyPrefix: string) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', DRIVER], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: {
      ...process.env,
      GATE_MODULE: distUrl('executor/rate/redis-gate.js'),
      CLIENT_MODULE: distUrl('tencent/client.js'),
      REDIS_URL: redisUrl,
      EMULATOR_URL: emulatorUrl,
      KEY_PREFIX: keyPrefix,
      SECRET_KEY,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const exited = once(child, 'exit');
  const printed = async (line: string) => {
    while (!out.includes(`${line}\n`)) {
      if (child.exitCode !== null) throw new Error(`driver exited before "${line}": ${err}`);
      await delay(10);
    }
  };
  return {
    loaded: printed('loaded'),
    /** Lets the driver connect and run until `until` (Date.now() ms); resolves once its gate is ready. */
    async go(until: number) {
      child.stdin.end(`go ${until}\n`);
      await printed('ready');
    },
    done: exited.then(([code]) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{'))
        throw new Error(`driver failed (exit ${String(code)}): ${err}`);
      return JSON.parse(line) as DriveResult;
    }),
    kill: () => child.kill('SIGKILL'),
  };
}

describe.skipIf(REDIS_SERVER === undefined)('createRedisGate against redis-server and the emulator', () => {
  let redis: RunningRedis;
  let emulator: RunningEmulator;
  let prefixes = 0;
  const drivers: ReturnType<typeof startDriver>[] = [];

  const driver = () => {
    const d = startDriver(redis.url, emulator.url, `test:budget:${prefixes}`);
    drivers.push(d);
    return d;
  };

  beforeAll(async () => {
    redis = await startRedis();
    emulator = await startEmulator({ port: 0, sdkAppId: SDK_APP_ID, secretKey: SECRET_KEY, latencyMs: 20 });
  });
  afterEach(async () => {
    for (const d of drivers.splice(0)) d.kill();
    emulator.reset();
    prefixes++;
  });
  afterAll(async () => {
    await emulator?.close();
    await redis?.stop();
  });

  const endpointStats = () => emulator.stats().endpoints[EP];

  it('two processes share one budget: never more than 200 in a window, and together at least 180/s', async () => {
    const [a, b] = [driver(), driver()];
    await Promise.all([a.loaded, b.loaded]);
    const until = Date.now() + 3000;
    await Promise.all([a.go(until), b.go(until)]);
    const results = await Promise.all([a.done, b.done]);
    const stats = endpointStats();
    for (const r of results) expect(r.failures).toEqual([]);
    expect(stats.rateLimited).toBe(0);
    const calls = results.reduce((sum, r) => sum + r.calls, 0);
    expect(stats.accepted).toBe(calls);
    // Both took part, and together they used at least 90% of 200/s.
    for (const r of results) expect(r.calls).toBeGreaterThan(100);
    const seconds =
      (Math.max(...results.map((r) => r.last)) - Math.min(...results.map((r) => r.first))) / 1000;
    expect(calls / seconds).toBeGreaterThanOrEqual(180);
  }, 15_000);

  it('keeps every window at 200 across a Redis restart, also for a process that connects after it', async () => {
    const [a, b, late] = [driver(), driver(), driver()];
    await Promise.all([a.loaded, b.loaded, late.loaded]);
    const until = Date.now() + 3500;
    await Promise.all([a.go(until), b.go(until)]);
    await delay(1200);
    // Killed while both hold slots up to maxAheadMs ahead, and back at once (no pause).
    await redis.restart(0);
    const restartedAt = Date.now();
    // A process that never saw the old Redis: only the script's fresh-Redis rule keeps it off the old slots.
    await late.go(until);
    const results = await Promise.all([a.done, b.done, late.done]);
    const stats = endpointStats();
    for (const r of results) expect(r.failures).toEqual([]);
    expect(stats.rateLimited).toBe(0);
    // The run went on after the restart: every process made calls more than a second after it.
    for (const r of results) expect(r.last).toBeGreaterThan(restartedAt + 1000);
    // It took part (a fair third would be ~150 calls; a loaded machine starves it to a few dozen).
    expect(results[2]?.calls).toBeGreaterThan(10);
  }, 15_000);

  it('rejects with TRANSPORT, without the password, when Redis stays down past unavailableAfterMs', async () => {
    const password = 'n0t-in-messages';
    const locked = await startRedis({ password });
    const g = await createRedisGate({ url: locked.url, keyPrefix: 'test:down', unavailableAfterMs: 600 });
    try {
      await g.acquire(EP);
      await locked.stop();
      const error = await g.acquire(EP).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSyncError(error, 'TRANSPORT')).toBe(true);
      const message = (error as SyncError).message;
      expect(message).toMatch(new RegExp(`^Redis at 127\\.0\\.0\\.1:${locked.port} is unreachable: `));
      expect(message).not.toContain(password);
      // acquire rejects at once until the gate has reconnected (ioredis retries within 1 s), then works.
      await locked.start();
      let last: unknown;
      for (let i = 0; i < 40 && last !== 'ok'; i++) {
        if (i > 0) await delay(100);
        last = await g.acquire(EP).then(
          () => 'ok',
          (e: unknown) => e,
        );
      }
      expect(last).toBe('ok');
    } finally {
      await g.close();
      await locked.stop();
    }
  }, 10_000);

  it('refuses wrong credentials at once with CONFIG, without the password', async () => {
    const locked = await startRedis({ password: 'the-right-one' });
    try {
      const wrong = locked.url.replace('the-right-one', 'wr0ng-pa55');
      const error = await createRedisGate({ url: wrong }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSyncError(error, 'CONFIG')).toBe(true);
      expect((error as SyncError).message).toMatch(
        /^Redis at 127\.0\.0\.1:\d+ refused the credentials: WRONGPASS/,
      );
      expect((error as SyncError).message).not.toContain('wr0ng-pa55');
    } finally {
      await locked.stop();
    }
  });

  it('refuses to start when Redis cannot be reached within unavailableAfterMs', async () => {
    const gone = await startRedis();
    await gone.stop();
    const error = await createRedisGate({
      url: `redis://user:secret-pw@127.0.0.1:${gone.port}`,
      unavailableAfterMs: 300,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSyncError(error, 'TRANSPORT')).toBe(true);
    expect((error as SyncError).message).toContain(`Redis at 127.0.0.1:${gone.port} is unreachable: `);
    expect((error as SyncError).message).not.toContain('secret-pw');
  });
});
