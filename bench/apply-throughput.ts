/**
 * Executor throughput with the limiter's knobs exposed: the experiment bench behind bench/apply-rate.ts
 * (which measures the CLI as shipped). Not part of `npm run bench`.
 *
 *   npx tsc -p tsconfig.json --outDir .bench-build
 *   node .bench-build/bench/apply-throughput.js [--users 1000] [--groups 2] [--per-group 3] [--rate 200]
 *        [--latency 50] [--jitter 20] [--fault-rate 0] [--lost-rate 0] [--concurrency N]
 *        [--headroom H] [--window-margin MS] [--max-slowdown F] [--endpoint URL]
 *
 * `--headroom`, `--window-margin` and `--max-slowdown` are createEndpointLimiters' `headroom`,
 * `windowMarginMs` and `maxSlowdown` (1: a rate-limit answer never slows the endpoint down)
 * (defaults: the library's). With `--endpoint` it drives an emulator already running as its own process
 * (`cgsync emulator --port 0 --latency 50 --jitter 20`; reset it between runs with
 * `curl -X POST URL/__emulator/reset`), else it starts one in-process
 * (its own 200/s sliding-window limit per endpoint, `--latency ± --jitter`),
 * plans `--groups` groups of `--per-group` conversations per user as one create (first conversation) and
 * one update (the rest) each, so creates and updates run side by side on their own budgets, and applies
 * them with runApply through the real client and limiters. Prints, per endpoint: calls made, achieved
 * calls/s against the configured rate, what the emulator accepted, its rate-limit answers (60007, should
 * be 0) and the most calls it saw in any 1000 ms window (should be ≤ the emulator's limit).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startEmulator } from '../src/emulator/index.js';
import type { EmulatorStats } from '../src/emulator/server.js';
import { openCheckpoint } from '../src/executor/log/checkpoint.js';
import { createEndpointLimiters } from '../src/executor/rate/limiters.js';
import { runApply, type UserWork } from '../src/executor/run-apply.js';
import type { Conversation } from '../src/model.js';
import { TencentClient } from '../src/tencent/client.js';
import { ENDPOINTS } from '../src/tencent/wire.js';

const SDKAPPID = 1400000000;
const SECRET = 'bench-secret-key-not-a-real-one-0123456789abcdef';

function* plannedUsers(users: number, groups: number, perGroup: number): Generator<UserWork> {
  for (let u = 0; u < users; u++) {
    const user = `user${u}`;
    const operations: UserWork['operations'][number][] = [];
    for (let g = 0; g < groups; g++) {
      const group = `group${g}`;
      const members: Conversation[] = Array.from({ length: perGroup }, (_, i) => ({
        type: 1,
        id: `peer${u}-${g}-${i}`,
      }));
      operations.push({
        id: `${user}:create:${group}`,
        kind: 'create',
        user,
        group,
        add: members.slice(0, 1),
      });
      if (members.length > 1) {
        operations.push({
          id: `${user}:update:${group}`,
          kind: 'update',
          user,
          group,
          add: members.slice(1),
          remove: [],
        });
      }
    }
    yield { user, operations };
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '1000' },
      groups: { type: 'string', default: '2' },
      'per-group': { type: 'string', default: '3' },
      rate: { type: 'string', default: '200' },
      headroom: { type: 'string' },
      'window-margin': { type: 'string' },
      'max-slowdown': { type: 'string' },
      endpoint: { type: 'string' },
      latency: { type: 'string', default: '50' },
      jitter: { type: 'string', default: '20' },
      'fault-rate': { type: 'string', default: '0' },
      'lost-rate': { type: 'string', default: '0' },
      concurrency: { type: 'string' },
    },
  });
  const rate = Number(values.rate);
  const external = values.endpoint;
  const emulator =
    external === undefined
      ? await startEmulator({
          sdkAppId: SDKAPPID,
          secretKey: SECRET,
          latencyMs: Number(values.latency),
          jitterMs: Number(values.jitter),
          faultRate: Number(values['fault-rate']),
          lostRate: Number(values['lost-rate']),
        })
      : {
          url: external,
          stats: async () => (await (await fetch(`${external}/__emulator/stats`)).json()) as EmulatorStats,
          close: async () => {},
        };
  const sdkAppId = external === undefined ? SDKAPPID : Number(process.env.TENCENT_SDKAPPID ?? SDKAPPID);
  const secretKey = external === undefined ? SECRET : (process.env.TENCENT_SECRET_KEY ?? SECRET);
  const client = new TencentClient({ sdkAppId, secretKey, endpoint: emulator.url });
  const dir = await mkdtemp(join(tmpdir(), 'cgsync-bench-'));
  const checkpoint = await openCheckpoint(join(dir, 'bench.ckpt'), {
    identity: { inputDigest: 'bench', mode: 'merge', assumeEmpty: true, options: {} },
    toolVersion: 'bench',
  });
  const limiters = createEndpointLimiters({
    rate,
    ...(values.headroom === undefined ? {} : { headroom: Number(values.headroom) }),
    ...(values['window-margin'] === undefined ? {} : { windowMarginMs: Number(values['window-margin']) }),
    ...(values['max-slowdown'] === undefined ? {} : { maxSlowdown: Number(values['max-slowdown']) }),
  });
  try {
    const result = await runApply({
      users: plannedUsers(Number(values.users), Number(values.groups), Number(values['per-group'])),
      api: client,
      checkpoint,
      options: {
        limiters,
        rate,
        ...(values.concurrency === undefined ? {} : { concurrency: Number(values.concurrency) }),
      },
    });
    const seconds = result.durationMs / 1000;
    const stats = await emulator.stats();
    console.log(
      `users ${result.users.done} done, ${result.users.failed} failed; ops ${result.operations.ok} ok, ` +
        `${result.operations.failed} failed, ${result.operations.reconciled} reconciled; ${seconds.toFixed(1)} s` +
        (result.fatal === undefined ? '' : `; FATAL ${result.fatal.message}`),
    );
    console.log(
      'endpoint                 calls  calls/s  configured  accepted  rate-limited  maxInWindow  retries',
    );
    for (const endpoint of ENDPOINTS) {
      const ours = result.endpoints[endpoint];
      const theirs = stats.endpoints[endpoint];
      if (ours.calls === 0) continue;
      console.log(
        [
          endpoint.padEnd(24),
          String(ours.calls).padStart(5),
          (ours.calls / seconds).toFixed(1).padStart(8),
          String(rate).padStart(11),
          String(theirs.accepted).padStart(9),
          String(theirs.rateLimited).padStart(13),
          String(theirs.maxInWindow).padStart(12),
          String(ours.retries).padStart(8),
        ].join(' '),
      );
    }
  } finally {
    await checkpoint.close();
    await limiters.stop();
    await client.close();
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
