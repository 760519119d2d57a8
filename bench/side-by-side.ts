/**
 * Side by side (issue 6): the same data against the same emulator process (`--latency 50 --jitter 20`,
 * 200 calls/s per endpoint), each client as its own process, the emulator reset in between:
 *
 * - cgsync blind migration: `cgsync apply --assume-empty`, and with `--stream` (calls start while the
 *   CSV is still read)
 * - cgsync merge migration: `cgsync apply` (reads every user's groups first, on its own budget)
 * - naive: one call at a time, one conversation per call (bench/clients/naive.ts), run for
 *   SIDE_NAIVE_SECONDS and extrapolated to the whole file from the rate it reached
 * - unlimited: 64 users in flight, no limiter, 60007 retried after a fixed delay (bench/clients/unlimited.ts)
 * - the physical limit: calls needed / 200 per second per endpoint, endpoints in parallel
 *
 * Three data shapes: "big groups" (one group of ~146 conversations per user: a create and an update each,
 * both endpoints busy), "typical" (10 rows per user in ~4.5 groups: creates only) and "mixed" (issue 13:
 * users with 1-8 groups of 1-250 conversations, grouped by user, bench/gen-mixed.ts).
 * For cgsync's runs the emulator's counters are sampled every 50 ms: when the first call arrived after the
 * spawn, when the busiest endpoint took its last call, and the tail after it.
 *
 *   node .bench-build/bench/side-by-side.js [--md out.md]
 *   env: SIDE_BIG_USERS=4000 (FULL=1: 9000), SIDE_TYPICAL_USERS=1000 (FULL=1: 4000), SIDE_MIXED_USERS=500
 *        (FULL=1: 2000), SIDE_NAIVE_SECONDS=15, SIDE_RETRY_DELAY=10, SIDE_CONCURRENCY=64, LATENCY=50, JITTER=20,
 *        SIDE_SHAPES=big,typical,mixed and SIDE_CLIENTS=blind,stream,merge,naive,unlimited (a subset, for
 *        experiments; stream: `cgsync apply --assume-empty --stream`, calls while the CSV is read)
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { EmulatorStats } from '../src/emulator/server.js';
import { ENDPOINTS, type Endpoint } from '../src/tencent/wire.js';
import { cgsyncApply, cgsyncPlan, type PlanFigures } from './lib/cgsync.js';
import { ensureCsv, ensureMixedCsv } from './lib/data.js';
import { type EmulatorProcess, startEmulatorProcess } from './lib/emulator-process.js';
import { checkEndState, receivedCalls } from './lib/end-state.js';
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
import { pollStats, runPhases } from './lib/stats-poller.js';

const RATE = 200;
const SHOWN: readonly Endpoint[] = ['create_contact_group', 'update_contact_group', 'get_contact_group'];

type Counts = Record<Endpoint, number>;

interface Settings {
  readonly naiveSeconds: number;
  readonly retryDelay: string;
  readonly concurrency: number;
  readonly clients: readonly string[];
}

/** One line of the table. */
interface Line {
  readonly name: string;
  /** Wall time, ms (extrapolated for the naive client). */
  readonly wallMs: number;
  readonly extrapolated?: boolean;
  /** Calls per endpoint, retries included: as the emulator received them (the naive client: needed). */
  readonly calls: Counts;
  /** 60007 answers per endpoint, as the emulator counted them. */
  readonly rateLimited: Counts;
  readonly retries: number;
  readonly maxInWindow: number;
  readonly peakRss: number | undefined;
  /** The physical limit this line is compared with, ms. */
  readonly limitMs: number;
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

/** Calls needed / 200 per second on the busiest endpoint (endpoints run in parallel), ms. */
function physicalLimitMs(calls: Counts): number {
  return (Math.max(...ENDPOINTS.map((e) => calls[e])) / RATE) * 1000;
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

/** A client's JSON result: `{ endpoints: { [e]: { calls, retries, ... } } }` → per-endpoint counts. */
function countsOf(summary: Record<string, unknown>, field: 'calls' | 'retries'): Counts {
  const raw = (summary.endpoints ?? {}) as Record<string, Record<string, number> | undefined>;
  const out = zeroCounts();
  for (const e of ENDPOINTS) out[e] = raw[e]?.[field] ?? 0;
  return out;
}

/** `''` when a client's own per-endpoint call counts equal what the emulator received, else what differs. */
function agreement(own: Readonly<Record<Endpoint, { calls: number }>>, received: Counts): string {
  const off = ENDPOINTS.filter((e) => own[e].calls !== received[e]);
  if (off.length === 0) return '';
  return `; **its own summary disagrees with the emulator:** ${off
    .map((e) => `${e} ${int(own[e].calls)} vs ${int(received[e])} received`)
    .join(', ')}`;
}

function checkExit(run: MeasuredRun, what: string): void {
  if (run.exitCode !== 0) throw new Error(`${what} exited ${run.exitCode}: ${run.stderr.slice(-2000)}`);
}

async function runCgsync(
  csv: string,
  emulator: EmulatorProcess,
  blind: boolean,
  plan: PlanFigures,
  stream = false,
): Promise<Line> {
  await emulator.reset();
  const name = `${blind ? 'cgsync blind (`--assume-empty`' : 'cgsync merge (reads first'}${stream ? ', `--stream`)' : ')'}`;
  note(`${name} on ${csv}`);
  const poller = pollStats(emulator, 50);
  const t0 = performance.now();
  const r = await cgsyncApply(csv, emulator.url, join(OUT, 'side-by-side.ckpt'), [
    ...(blind ? ['--assume-empty'] : []),
    ...(stream ? ['--stream'] : []),
  ]).finally(() => poller.stop());
  const samples = await poller.stop();
  const stats = await emulator.stats();
  const calls = receivedCalls(stats);
  let retries = 0;
  for (const e of ENDPOINTS) retries += r.endpoints[e].retries;
  const end = await checkEndState(emulator, csv);
  // Merge also reads every user once (one page each: the app is empty), on get_contact_group's own budget.
  const needed = blind ? plan.calls : { ...plan.calls, get_contact_group: plan.users };
  const limitMs = physicalLimitMs(needed);
  const busiest = ENDPOINTS.reduce((a, b) => (needed[b] > needed[a] ? b : a));
  const phases = runPhases(samples, t0, busiest);
  const ms = (v: number | undefined) => (v === undefined ? 'n/a' : secs(v));
  const timeline = `first call seen ${ms(phases.firstCallMs)} after the spawn; ${busiest} done at ${ms(
    phases.busiestDoneMs,
  )}, every call at ${ms(phases.lastCallMs)}, exit at ${secs(r.run.wallMs)}; ${busiest} per second: ${phases.busiestPerSecond.join(', ')}`;
  note(`${name}: ${(r.run.wallMs / limitMs).toFixed(3)}× the limit; ${timeline}`);
  return {
    name,
    wallMs: r.run.wallMs,
    calls,
    retries,
    ...emulatorFigures(stats),
    peakRss: r.run.peakRssBytes,
    limitMs,
    note: `executor ${secs(r.durationMs)} (${(r.durationMs / limitMs).toFixed(3)}× the limit) after ${secs(
      r.run.wallMs - r.durationMs,
    )} of start-up and CSV scan; ${timeline}; end state exactly the CSV's (${int(end.memberships)} memberships)${agreement(r.endpoints, calls)}`,
  };
}

async function runNaive(
  csv: string,
  emulator: EmulatorProcess,
  settings: Settings,
  plan: PlanFigures,
): Promise<Line> {
  await emulator.reset();
  note(`naive client for ${settings.naiveSeconds} s`);
  const run = await runNode([
    join(BENCH_BUILD, 'clients', 'naive.js'),
    csv,
    '--endpoint',
    emulator.url,
    '--seconds',
    String(settings.naiveSeconds),
  ]);
  checkExit(run, 'naive client');
  const result = lastJsonLine(run);
  const made = sum(countsOf(result, 'calls'));
  const rawNeeded = (result.needed ?? {}) as Record<string, number | undefined>;
  const needed = zeroCounts();
  for (const e of ENDPOINTS) needed[e] = rawNeeded[e] ?? 0;
  const callingMs = Number(result.callingMs);
  // The time outside the calls (start-up, CSV scan) is kept; the calls are extrapolated at the rate reached.
  const wallMs = run.wallMs - callingMs + (sum(needed) / made) * callingMs;
  return {
    name: 'naive (1 call at a time, 1 conversation per call)',
    wallMs,
    extrapolated: true,
    calls: needed,
    retries: 0,
    ...emulatorFigures(await emulator.stats()),
    peakRss: run.peakRssBytes,
    limitMs: physicalLimitMs(plan.calls),
    note: `extrapolated: ran ${int(made)} calls in ${secs(callingMs)} (${(made / (callingMs / 1000)).toFixed(
      1,
    )} calls/s), ${int(sum(needed))} needed`,
  };
}

async function runUnlimited(
  csv: string,
  emulator: EmulatorProcess,
  settings: Settings,
  plan: PlanFigures,
): Promise<Line> {
  await emulator.reset();
  note(`unlimited client, ${settings.concurrency} in flight`);
  const run = await runNode([
    join(BENCH_BUILD, 'clients', 'unlimited.js'),
    csv,
    '--endpoint',
    emulator.url,
    '--concurrency',
    String(settings.concurrency),
    '--retry-delay',
    settings.retryDelay,
  ]);
  checkExit(run, 'unlimited client');
  const result = lastJsonLine(run);
  const stats = await emulator.stats();
  const end = await checkEndState(emulator, csv);
  return {
    name: `unlimited (${settings.concurrency} in flight, no limiter, retry 60007 after ${settings.retryDelay} ms)`,
    wallMs: run.wallMs,
    calls: receivedCalls(stats),
    retries: sum(countsOf(result, 'retries')),
    ...emulatorFigures(stats),
    peakRss: run.peakRssBytes,
    limitMs: physicalLimitMs(plan.calls),
    note: `end state exactly the CSV's (${int(end.memberships)} memberships)`,
  };
}

function physicalLine(plan: PlanFigures): Line {
  return {
    name: 'physical limit (calls needed / 200 per s per endpoint)',
    wallMs: physicalLimitMs(plan.calls),
    calls: plan.calls,
    retries: 0,
    rateLimited: zeroCounts(),
    maxInWindow: RATE,
    peakRss: undefined,
    limitMs: physicalLimitMs(plan.calls),
    note: `the fewest calls (cgsync blind’s plan); every ratio is against it, except merge’s, which also needs one read per user on its own endpoint, in parallel: ${secs(
      physicalLimitMs({ ...plan.calls, get_contact_group: plan.users }),
    )}`,
  };
}

function render(lines: readonly Line[]): string[] {
  const wall = (l: Line) =>
    `${l.extrapolated === true ? '≈ ' : ''}${l.wallMs >= 3_600_000 ? `${(l.wallMs / 3_600_000).toFixed(1)} h` : secs(l.wallMs)}`;
  return [
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
        wall(l),
        SHOWN.map((e) => int(l.calls[e])).join(' / '),
        (sum(l.calls) / (l.wallMs / 1000)).toFixed(1),
        SHOWN.map((e) => int(l.rateLimited[e])).join(' / '),
        int(l.retries),
        int(l.maxInWindow),
        mb(l.peakRss),
        `${(l.wallMs / l.limitMs).toFixed(3)}×`,
      ]),
    ),
    '',
    ...lines.filter((l) => l.note !== undefined).map((l) => `- ${l.name}: ${l.note}`),
  ];
}

async function compare(
  title: string,
  csv: string,
  emulator: EmulatorProcess,
  settings: Settings,
): Promise<string[]> {
  const plan = await cgsyncPlan(csv);
  const on = (client: string) => settings.clients.includes(client);
  const lines: Line[] = [];
  if (on('blind')) lines.push(await runCgsync(csv, emulator, true, plan));
  if (on('stream')) lines.push(await runCgsync(csv, emulator, true, plan, true));
  if (on('merge')) lines.push(await runCgsync(csv, emulator, false, plan));
  if (on('naive')) lines.push(await runNaive(csv, emulator, settings, plan));
  if (on('unlimited')) lines.push(await runUnlimited(csv, emulator, settings, plan));
  lines.push(physicalLine(plan));
  return [
    `### ${title}: ${int(plan.users)} users, ${int(plan.groups)} groups, ${int(plan.memberships)} memberships`,
    '',
    ...render(lines),
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { md: { type: 'string' } } });
  const bigUsers = envNumber('SIDE_BIG_USERS', FULL ? 9000 : 4000);
  const typicalUsers = envNumber('SIDE_TYPICAL_USERS', FULL ? 4000 : 1000);
  const settings: Settings = {
    naiveSeconds: envNumber('SIDE_NAIVE_SECONDS', 15),
    retryDelay: process.env.SIDE_RETRY_DELAY ?? '10',
    concurrency: envNumber('SIDE_CONCURRENCY', 64),
    clients: (process.env.SIDE_CLIENTS ?? 'blind,stream,merge,naive,unlimited').split(','),
  };
  const shapes = (process.env.SIDE_SHAPES ?? 'big,typical,mixed').split(',');
  const mixedUsers = envNumber('SIDE_MIXED_USERS', FULL ? 2000 : 500);
  const latency = envNumber('LATENCY', 50);
  const jitter = envNumber('JITTER', 20);
  const big = await ensureCsv({ rows: bigUsers * 150, users: bigUsers, groupsPerUser: 1 });
  const typical = await ensureCsv({ rows: typicalUsers * 10, users: typicalUsers });
  const mixed = await ensureMixedCsv(mixedUsers);
  const header = machineLine();
  const emulator = await startEmulatorProcess(['--latency', String(latency), '--jitter', String(jitter)]);
  let parts: string[];
  try {
    parts = [];
    if (shapes.includes('big')) {
      parts.push(
        ...(await compare('Big groups (one create and one update per user)', big, emulator, settings)),
        '',
      );
    }
    if (shapes.includes('typical')) {
      parts.push(
        ...(await compare(
          'Typical export (10 rows per user in ~4.5 groups: creates only)',
          typical,
          emulator,
          settings,
        )),
        '',
      );
    }
    if (shapes.includes('mixed')) {
      parts.push(
        ...(await compare(
          'Mixed export (1-8 groups of 1-250 conversations per user, grouped by user)',
          mixed,
          emulator,
          settings,
        )),
        '',
      );
    }
  } finally {
    await emulator.close();
  }
  await emitSection(values.md, [
    '## Side by side (issue 6)',
    '',
    header,
    '',
    'Command: `npm run bench` (this part alone: `node .bench-build/bench/side-by-side.js`).',
    `Emulator process: \`cgsync emulator --port 0 --latency ${latency} --jitter ${jitter}\` (200 calls/s per endpoint, sliding 1000 ms window), reset between runs; every client is its own process and reads the CSV with the project’s reader.`,
    'Calls (create / update / get, retries included) are what the emulator received, by its own count (the naive client’s: the calls it would need); calls/s = calls / wall time. 60007 answers and maxInWindow (most calls accepted in any 1000 ms window, any endpoint) are the emulator’s counts too. After every complete run the emulator’s state is checked to be exactly the CSV’s (by the documented rules, test/helpers/expected-state.ts). Wall time is the whole process, start-up and CSV scan included.',
    '',
    ...parts,
    `Goal: cgsync within 5% of the physical limit (≤ 1.050×). ${loadLine()} at end.`,
  ]);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
