import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_MAIN } from '../helpers/cli-process.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { expectedState } from '../helpers/expected-state.js';
import { REDIS_SERVER, type RunningRedis, startRedis } from '../helpers/redis-server.js';

/** 1,000 users × 2 groups: 2,000 creates, ~10 s of create calls at 200/s shared by two shards. */
function csv(): string {
  const rows = ['From_Account,GroupName,Type,To_Account,ToGroupId'];
  for (let u = 0; u < 1000; u++) {
    rows.push(`u${u},Family,1,f${u},`, `u${u},Work,2,,@TGS#w${u}`);
  }
  return `${rows.join('\n')}\n`;
}

function shard(t: TestEmulator, dir: string, input: string, i: number, redis: string) {
  const child = spawn(
    process.execPath,
    [
      CLI_MAIN,
      'apply',
      input,
      '--assume-empty',
      '--shard',
      `${i}/2`,
      '--redis',
      redis,
      '--checkpoint',
      join(dir, `cp${i}.ndjson`),
      '--json',
    ],
    { env: { ...process.env, ...t.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return {
    child,
    done: (async () => {
      const [code] = (await once(child, 'exit')) as [number];
      return { code, stdout, stderr };
    })(),
  };
}

describe.skipIf(REDIS_SERVER === undefined)('two shards sharing one budget through a real Redis', () => {
  let t: TestEmulator;
  let redis: RunningRedis;
  let dir: string;
  beforeAll(async () => {
    t = await startTestEmulator({ latencyMs: 20, jitterMs: 10 });
    redis = await startRedis();
    dir = await mkdtemp(join(tmpdir(), 'cgsync-shards-'));
  });
  afterAll(async () => {
    await t.close();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('never pass 200 calls in any 1 s window on any endpoint, also across a Redis restart', {
    timeout: 60_000,
  }, async () => {
    const input = join(dir, 'users.csv');
    await writeFile(input, csv());
    const a = shard(t, dir, input, 0, redis.url);
    const b = shard(t, dir, input, 1, redis.url);
    await new Promise((r) => setTimeout(r, 3000));
    await redis.restart(0);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const stats = t.emulator.stats().endpoints;
    for (const [endpoint, s] of Object.entries(stats)) {
      expect(s.rateLimited, `${endpoint} answered 60007`).toBe(0);
    }
    // The shards really shared the endpoint (each did part of the work) and the budget was used.
    const created = stats.create_contact_group;
    expect(created.accepted).toBe(2000);
    expect(created.maxInWindow).toBeGreaterThan(150);
    const sa = JSON.parse(ra.stdout);
    const sb = JSON.parse(rb.stdout);
    expect(sa.users.done + sb.users.done).toBe(1000);
    expect(Math.min(sa.users.done, sb.users.done)).toBeGreaterThan(300);
    expect(t.state()).toEqual(expectedState(input));
  });
});
