/**
 * Side by side (issue 6): the same data against the same emulator process (`--latency 50 --jitter 20`,
 * 200 calls/s per endpoint), each client as its own process, the emulator reset in between:
 *
 * - cgsync blind migration: `cgsync apply --assume-empty`
 * - cgsync merge migration: `cgsync apply` (reads every user's groups first, on its own budget)
 * - naive: one call at a time, one conversation per call (bench/clients/naive.ts), run for
 *   SIDE_NAIVE_SECONDS and extrapolated to the whole file from the rate it reached
 * - unlimited: 64 users in flight, no limiter, 60007 retried after a fixed delay (bench/clients/unlimited.ts)
 * - the physical limit: calls needed / 200 per second per endpoint, endpoints in parallel
 *
 *   node .bench-build/bench/side-by-side.js [--md out.md]
 *   env: SIDE_USERS=4000 (FULL=1: 9000), SIDE_NAIVE_SECONDS=15, SIDE_RETRY_DELAY=10, SIDE_CONCURRENCY=64,
 *        LATENCY=50, JITTER=20
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { EmulatorStats } from '../src/emulator/server.js';
import { ENDPOINTS, type Endpoint } from '../src/tencent/wire.js';
import { cgsyncApply, cgsyncPlan } from './lib/cgsync.js';
import { ensureCsv } from './lib/data.js';
import { startEmulatorProcess } from './lib/emulator-process.js';
import { lastJsonLine, type MeasuredRun, runNode } from './lib/measure.js';
import { BENCH_BUILD, OUT } from './lib/paths.js';
import {
  emitSection,
  envNumber,
  FULL,
  int,
  loadLine,
  machineLine,
  mb,
  note,
  secs,
  table,
} from './lib/report.js';

const RATE = 200;
const SHOWN: readonly Endpoint[] = ['create_contact_group', 'update_contact_group', 'get_contact_group'];

type Counts = Record<Endpoint, number>;

interface Line {
  readonly name: string;
  /** Wall time, ms (extrapolated for the naive client). */
  readonly wallMs: number;
  readonly extrapolated?: boolean;
  readonly calls: Counts;
  /** 60007 answers per endpoint, as the emulator counted them. */
  readonly rateLimited: Counts;
  readonly retries: number;
  readonly maxInWindow: number;
  readonly peakRss: number | undefined;
  readonly note?: string;
}

function zeroCounts(): Counts {
  const out = {} as Counts;
  for (const e of ENDPOINTS) out[e] = 0;
  return out;
}

function sum(counts: Counts): number {
  return ENDPOINTS.reduce((total, e) => total + counts[e], 0);
}

function emulatorFigures(stats: EmulatorStats): { rateLimited: Counts; maxInWindow: number } {
  const rateLimited = zeroCounts();
  let maxInWindow = 0;
  for (const e of ENDPOINTS) {
    rateLimited[e] = stats.endpoints[e].rateLimited;
    maxInWindow = Math.max(maxInWindow, stats.endpoints[e].maxInWindow);
  }
  return { rateLimited, maxInWindow };
}

function clientCounts(
  summary: Record<string, unknown>,
  key: 'endpoints' | 'needed',
): Record<Endpoint, Record<string, number>> {
  return (summary[key] ?? {}) as Record<Endpoint, Record<string, number>>;
}

function checkExit(run: MeasuredRun, what: string): void {
  if (run.exitCode !== 0) throw new Error(`${what} exited ${run.exitCode}: ${run.stderr.slice(-2000)}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { md: { type: 'string' } } });
  const users = envNumber('SIDE_USERS', FULL ? 9000 : 4000);
  const naiveSeconds = envNumber('SIDE_NAIVE_SECONDS', 15);
  const retryDelay = process.env.SIDE_RETRY_DELAY ?? '10';
  const concurrency = envNumber('SIDE_CONCURRENCY', 64);
  const latency = envNumber('LATENCY', 50);
  const jitter = envNumber('JITTER', 20);
  const csv = await ensureCsv({ rows: users * 150, users, groupsPerUser: 1 });
  const header = machineLine();
  const plan = await cgsyncPlan(csv);
  const lines: Line[] = [];

  const emulator = await startEmulatorProcess(['--latency', String(latency), '--jitter', String(jitter)]);
  try {
    for (const [name, args] of [
      ['cgsync blind (`--assume-empty`)', ['--assume-empty']],
      ['cgsync merge (reads first)', []],
    ] as const) {
      await emulator.reset();
      note(`${name} on ${csv}`);
      const r = await cgsyncApply(csv, emulator.url, join(OUT, 'side-by-side.ckpt'), args);
      const calls = zeroCounts();
      let retries = 0;
      for (const e of ENDPOINTS) {
        calls[e] = r.endpoints[e].calls;
        retries += r.endpoints[e].retries;
      }
      lines.push({
        name,
        wallMs: r.run.wallMs,
        calls,
        retries,
        ...emulatorFigures(await emulator.stats()),
        peakRss: r.run.peakRssBytes,
        note: `executor ${secs(r.durationMs)} after ${secs(r.run.wallMs - r.durationMs)} of start-up and CSV scan`,
      });
    }

    await emulator.reset();
    note(`naive client for ${naiveSeconds} s`);
    const naiveRun = await runNode([
      join(BENCH_BUILD, 'clients', 'naive.js'),
      csv,
      '--endpoint',
      emulator.url,
      '--seconds',
      String(naiveSeconds),
    ]);
    checkExit(naiveRun, 'naive client');
    const naive = lastJsonLine(naiveRun);
    const made = clientCounts(naive, 'endpoints');
    const needed = (naive.needed ?? {}) as Record<Endpoint, number>;
    const madeTotal = ENDPOINTS.reduce((t, e) => t + (made[e]?.calls ?? 0), 0);
    const callingMs = Number(naive.callingMs);
    const neededCounts = zeroCounts();
    for (const e of ENDPOINTS) neededCounts[e] = needed[e] ?? 0;
    // The time outside the calls (start-up, CSV scan) is kept; the calls are extrapolated at the rate reached.
    const naiveWall = naiveRun.wallMs - callingMs + (sum(neededCounts) / madeTotal) * callingMs;
    lines.push({
      name: 'naive (1 call at a time, 1 conversation per call)',
      wallMs: naiveWall,
      extrapolated: true,
      calls: neededCounts,
      retries: 0,
      ...emulatorFigures(await emulator.stats()),
      peakRss: naiveRun.peakRssBytes,
      note: `extrapolated: ran ${int(madeTotal)} calls in ${secs(callingMs)} (${(madeTotal / (callingMs / 1000)).toFixed(1)} calls/s), ${int(sum(neededCounts))} needed`,
    });

    await emulator.reset();
    note(`unlimited client, ${concurrency} in flight`);
    const unlimitedRun = await runNode([
      join(BENCH_BUILD, 'clients', 'unlimited.js'),
      csv,
      '--endpoint',
      emulator.url,
      '--concurrency',
      String(concurrency),
      '--retry-delay',
      retryDelay,
    ]);
    checkExit(unlimitedRun, 'unlimited client');
    const unlimited = clientCounts(lastJsonLine(unlimitedRun), 'endpoints');
    const uCalls = zeroCounts();
    let uRetries = 0;
    for (const e of ENDPOINTS) {
      uCalls[e] = unlimited[e]?.calls ?? 0;
      uRetries += unlimited[e]?.retries ?? 0;
    }
    lines.push({
      name: `unlimited (${concurrency} in flight, no limiter, retry 60007 after ${retryDelay} ms)`,
      wallMs: unlimitedRun.wallMs,
      calls: uCalls,
      retries: uRetries,
      ...emulatorFigures(await emulator.stats()),
      peakRss: unlimitedRun.peakRssBytes,
    });
  } finally {
    await emulator.close();
  }

  const physicalBlind = (Math.max(...ENDPOINTS.map((e) => plan.calls[e])) / RATE) * 1000;
  const mergeCalls = { ...plan.calls, get_contact_group: plan.users };
  const physicalMerge = (Math.max(...ENDPOINTS.map((e) => mergeCalls[e])) / RATE) * 1000;
  lines.push({
    name: 'physical limit (calls needed / 200 per s per endpoint)',
    wallMs: physicalBlind,
    calls: plan.calls,
    retries: 0,
    rateLimited: zeroCounts(),
    maxInWindow: RATE,
    peakRss: undefined,
    note: `merge's reads run on their own endpoint: ${secs(physicalMerge)} for merge too`,
  });

  const endLoad = loadLine();
  await emitSection(values.md, [
    '## Side by side (issue 6)',
    '',
    header,
    '',
    'Command: `npm run bench` (this part alone: `node .bench-build/bench/side-by-side.js`).',
    `Same data for all: ${int(users)} users × 1 group of ~146 conversations (${int(users * 150)} CSV rows, ${int(plan.memberships)} memberships).`,
    `Emulator process: \`cgsync emulator --port 0 --latency ${latency} --jitter ${jitter}\` (200 calls/s per endpoint, sliding 1000 ms window), reset between runs; every client is its own process.`,
    'Calls are the calls sent (create / update / get), retries included; rate-limit answers and maxInWindow (most calls accepted in any 1000 ms window, any endpoint) are the emulator’s counts.',
    '',
    table(
      [
        'client',
        'wall time',
        'calls create / update / get',
        'calls/s',
        '60007 answers create / update / get',
        'retries',
        'maxInWindow',
        'peak RSS',
        'time / physical limit',
      ],
      lines.map((l) => [
        l.name,
        `${l.extrapolated === true ? '≈ ' : ''}${l.wallMs >= 3_600_000 ? `${(l.wallMs / 3_600_000).toFixed(1)} h` : secs(l.wallMs)}`,
        SHOWN.map((e) => int(l.calls[e])).join(' / '),
        (sum(l.calls) / (l.wallMs / 1000)).toFixed(1),
        SHOWN.map((e) => int(l.rateLimited[e])).join(' / '),
        int(l.retries),
        int(l.maxInWindow),
        mb(l.peakRss),
        `${(l.wallMs / (l.name.startsWith('cgsync merge') ? physicalMerge : physicalBlind)).toFixed(3)}×`,
      ]),
    ),
    '',
    ...lines.filter((l) => l.note !== undefined).map((l) => `- ${l.name}: ${l.note}`),
    '',
    `Goal: cgsync within 5% of the physical limit (≤ 1.050×). ${endLoad} at end.`,
  ]);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
