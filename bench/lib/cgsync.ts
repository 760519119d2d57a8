import { rm } from 'node:fs/promises';
import { ENDPOINTS, type Endpoint } from '../../src/tencent/wire.js';
import { lastJsonLine, type MeasuredRun, runNode } from './measure.js';
import { CLI } from './paths.js';

/** What `cgsync apply --json` reports per endpoint. */
export interface EndpointSummary {
  readonly calls: number;
  readonly retries: number;
  readonly rateLimited: number;
  readonly failures: number;
}

/** A finished `cgsync apply` process: its JSON summary, wall time and peak RSS. */
export interface ApplyRun {
  readonly run: MeasuredRun;
  readonly status: string;
  readonly exitCode: number;
  readonly endpoints: Readonly<Record<Endpoint, EndpointSummary>>;
  /** Time inside the executor (after the CSV scan), ms. */
  readonly durationMs: number;
  readonly unchangedUsers: number;
  readonly summary: Record<string, unknown>;
}

function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

function endpointsOf(summary: Record<string, unknown>): Record<Endpoint, EndpointSummary> {
  const raw = (summary.endpoints ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const out = {} as Record<Endpoint, EndpointSummary>;
  for (const e of ENDPOINTS) {
    const r = raw[e] ?? {};
    out[e] = {
      calls: toNumber(r.calls),
      retries: toNumber(r.retries),
      rateLimited: toNumber(r.rateLimited),
      failures: toNumber(r.failures),
    };
  }
  return out;
}

/**
 * Runs `cgsync apply <csv> --endpoint <url> --checkpoint <checkpoint> --json <args>` as its own process
 * (a fresh checkpoint: any old one is removed first) and fails unless it exits 0.
 */
export async function cgsyncApply(
  csv: string,
  endpoint: string,
  checkpoint: string,
  args: readonly string[],
): Promise<ApplyRun> {
  await rm(checkpoint, { force: true });
  await rm(`${checkpoint}.lock`, { force: true });
  const run = await runNode([
    CLI,
    'apply',
    csv,
    '--endpoint',
    endpoint,
    '--checkpoint',
    checkpoint,
    '--json',
    ...args,
  ]);
  const summary = lastJsonLine(run);
  if (run.exitCode !== 0) {
    throw new Error(
      `cgsync apply exited ${run.exitCode}: ${JSON.stringify(summary)}\n${run.stderr.slice(-2000)}`,
    );
  }
  const users = (summary.users ?? {}) as Record<string, unknown>;
  return {
    run,
    status: String(summary.status),
    exitCode: run.exitCode,
    endpoints: endpointsOf(summary),
    durationMs: toNumber(summary.durationMs),
    unchangedUsers: toNumber(users.unchanged),
    summary,
  };
}

/** What `cgsync plan --assume-empty --json` says about a file. */
export interface PlanFigures {
  readonly run: MeasuredRun;
  readonly users: number;
  readonly groups: number;
  readonly memberships: number;
  readonly calls: Readonly<Record<Endpoint, number>>;
  /** Data rows the plan read (`rows.total` of the summary), and how many it rejected. */
  readonly rows: number;
  readonly rejectedRows: number;
}

/** Runs `cgsync plan <csv> --assume-empty --json <args>` as its own process. */
export async function cgsyncPlan(csv: string, args: readonly string[] = []): Promise<PlanFigures> {
  const run = await runNode([CLI, 'plan', csv, '--assume-empty', '--json', ...args]);
  const summary = lastJsonLine(run);
  if (run.exitCode !== 0) throw new Error(`cgsync plan exited ${run.exitCode}: ${run.stderr.slice(-2000)}`);
  const groups = (summary.groups ?? {}) as Record<string, unknown>;
  const memberships = (summary.memberships ?? {}) as Record<string, unknown>;
  const rawCalls = (summary.calls ?? {}) as Record<string, unknown>;
  const rows = (summary.rows ?? {}) as Record<string, unknown>;
  const calls = {} as Record<Endpoint, number>;
  for (const e of ENDPOINTS) calls[e] = toNumber(rawCalls[e]);
  return {
    run,
    users: toNumber(summary.users),
    groups: toNumber(groups.desired),
    memberships: toNumber(memberships.desired),
    calls,
    rows: toNumber(rows.total),
    rejectedRows: toNumber(rows.rejected),
  };
}

/** What `cgsync plan` (reading the app) predicts an apply takes. */
export interface PlanEstimate {
  readonly run: MeasuredRun;
  readonly estimatedSeconds: number;
  readonly estimatedReadSeconds: number;
  /** The latency the estimate used: the median of the plan's own reads. */
  readonly latencyMs: number;
  /** The reads per second the plan reached (a cap of the estimate). */
  readonly observedCallsPerSecond: number;
}

/** Runs `cgsync plan <csv> --endpoint <url> --json <args>` (it reads every user) as its own process. */
export async function cgsyncPlanEstimate(
  csv: string,
  endpoint: string,
  args: readonly string[],
): Promise<PlanEstimate> {
  const run = await runNode([CLI, 'plan', csv, '--endpoint', endpoint, '--json', ...args]);
  const summary = lastJsonLine(run);
  if (run.exitCode !== 0 && run.exitCode !== 2) {
    throw new Error(`cgsync plan exited ${run.exitCode}: ${run.stderr.slice(-2000)}`);
  }
  return {
    run,
    estimatedSeconds: toNumber(summary.estimatedSeconds),
    estimatedReadSeconds: toNumber(summary.estimatedReadSeconds),
    latencyMs: toNumber(summary.latencyMs),
    observedCallsPerSecond: toNumber(summary.observedCallsPerSecond),
  };
}
