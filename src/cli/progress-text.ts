import type { LiveStats, RunResult } from '../executor/run-apply.js';
import type { ReadProgress } from '../sync/read-progress.js';
import type { Endpoint } from '../tencent/wire.js';

/** What an apply's progress counts against, when known. */
export interface ProgressTotals {
  /** Write operations planned (mirror, plan files). */
  readonly ops?: number;
  /** Users of the input (a CSV; merge's only total, as it streams). */
  readonly users?: number;
}

/** How far a run has come: against operations when their total is known, else against users. */
export interface Completion {
  readonly done: number;
  readonly total: number;
  readonly unit: 'ops' | 'users';
}

/** Per-second rates over the last samples, keyed like the counters given to {@link RateMeter.add}. */
export type Rates = Readonly<Record<string, number>>;

/**
 * Rates of growing counters over a sliding window: pure (the caller gives the time of each sample).
 * A rate is the growth between the oldest sample still in the window and the newest, per second.
 */
export class RateMeter {
  readonly #windowMs: number;
  readonly #samples: { at: number; counters: Readonly<Record<string, number>> }[] = [];

  /** @param windowMs how far back the rate looks. @default 5000 */
  constructor(windowMs = 5000) {
    this.#windowMs = windowMs;
  }

  /** Adds a sample taken at `at` ms and returns each counter's rate per second. */
  add(at: number, counters: Readonly<Record<string, number>>): Rates {
    this.#samples.push({ at, counters: { ...counters } });
    while (this.#samples.length > 2 && (this.#samples[1] as { at: number }).at <= at - this.#windowMs) {
      this.#samples.shift();
    }
    const first = this.#samples[0] as { at: number; counters: Readonly<Record<string, number>> };
    const span = at - first.at;
    const rates: Record<string, number> = {};
    for (const [key, value] of Object.entries(counters)) {
      rates[key] = span > 0 ? ((value - (first.counters[key] ?? 0)) * 1000) / span : 0;
    }
    return rates;
  }
}

/** Short names for the progress line. */
const SHORT: Readonly<Record<Endpoint, string>> = {
  get_contact_group: 'get',
  create_contact_group: 'create',
  update_contact_group: 'update',
  del_contact_group: 'del',
  search_contact_group: 'search',
};

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0
    ? `${h}h${String(m).padStart(2, '0')}m`
    : m > 0
      ? `${m}m${String(sec).padStart(2, '0')}s`
      : `${sec}s`;
}

/** Users settled so far: done, failed, skipped, done before, unchanged. */
export function usersSettled(stats: LiveStats): number {
  return (
    stats.usersDone +
    stats.usersFailed +
    stats.usersSkipped +
    stats.usersAlreadyDone +
    (stats.usersUnchanged ?? 0)
  );
}

/** Completion against operations when their total is known, else users, else none. */
export function completionOf(stats: LiveStats, totals: ProgressTotals): Completion | undefined {
  if (totals.ops !== undefined && totals.ops > 0) {
    return { done: stats.opsOk + stats.opsFailed, total: totals.ops, unit: 'ops' };
  }
  if (totals.users !== undefined && totals.users > 0) {
    const done = usersSettled(stats);
    // Users that vanished from the input (mirror with --state) come on top of the input's.
    return { done, total: Math.max(totals.users, done), unit: 'users' };
  }
  return undefined;
}

/** Time left at `perSecond` units a second; undefined when it cannot be told. */
export function etaMs(c: Completion | undefined, perSecond: number): number | undefined {
  if (c === undefined || perSecond <= 0 || c.done >= c.total) return undefined;
  return ((c.total - c.done) / perSecond) * 1000;
}

export function percentOf(c: Completion): number {
  return Math.min(100, Math.floor((c.done / c.total) * 100));
}

function bar(c: Completion): string {
  const pct = percentOf(c);
  const width = 20;
  const filled = Math.round((pct / 100) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% ${c.done}/${c.total} ${c.unit}`;
}

/** `get 180/s, create 40/s`: each endpoint's own rate (never their sum), those under way only. */
export function formatEndpointRates(rates: Rates): string {
  const parts = Object.entries(rates)
    .filter(([, r]) => r >= 0.5)
    .map(([endpoint, r]) => `${SHORT[endpoint as Endpoint] ?? endpoint} ${r.toFixed(0)}/s`);
  return parts.length === 0 ? '0 calls/s' : parts.join(', ');
}

/** The bar's text: completion, calls per second per endpoint, ETA, users, errors. */
export function formatProgressLine(
  stats: LiveStats,
  endpointRates: Rates,
  completion: Completion | undefined,
  eta: number | undefined,
): string {
  const parts: string[] = [];
  parts.push(completion === undefined ? `${stats.opsOk + stats.opsFailed} ops` : bar(completion));
  parts.push(formatEndpointRates(endpointRates));
  if (eta !== undefined) parts.push(`ETA ${formatDuration(eta)}`);
  parts.push(`users ${stats.usersDone} done ${stats.usersFailed} failed`);
  parts.push(`errors ${stats.opsFailed} ops, ${stats.failures} calls`);
  return parts.join(' | ');
}

/** The read phase's text: users read / total, users per second, ETA. */
export function formatReadLine(what: string, p: ReadProgress, perSecond: number): string {
  const parts: string[] = [];
  if (p.total !== undefined && p.total > 0) {
    const c: Completion = { done: p.read, total: Math.max(p.total, p.read), unit: 'users' };
    parts.push(`${what}: ${bar(c)}`);
    parts.push(`${perSecond.toFixed(0)} users/s`);
    const eta = etaMs(c, perSecond);
    if (eta !== undefined) parts.push(`ETA ${formatDuration(eta)}`);
  } else {
    parts.push(`${what}: ${p.read} users`, `${perSecond.toFixed(0)} users/s`);
  }
  return parts.join(' | ');
}

/**
 * The final summary, several lines of plain text. The duration is the whole job's (the scan and a
 * mirror's read phase included); each endpoint's line gives its own average rate. The cause of a
 * fatal stop is not in it: the caller ends its output with it.
 */
export function formatSummary(result: RunResult): string {
  const u = result.users;
  const o = result.operations;
  const state =
    result.fatal !== undefined ? 'stopped by an error' : result.interrupted ? 'interrupted' : 'finished';
  const lines = [
    `apply ${state} in ${formatDuration(result.durationMs)}`,
    `users: ${u.done} done, ${u.failed} failed, ${u.skipped} skipped, ${u.alreadyDone} already done, ${u.unfinished} unfinished`,
    `operations: ${o.ok} ok, ${o.failed} failed (${o.reconciled} settled by reading the state)`,
  ];
  const seconds = result.durationMs / 1000;
  for (const [endpoint, c] of Object.entries(result.endpoints)) {
    if (c.calls === 0) continue;
    const average = seconds > 0 ? `, ${(c.calls / seconds).toFixed(1)} calls/s on average` : '';
    lines.push(
      `${endpoint}: ${c.calls} calls${average}, ${c.retries} retries, ${c.rateLimited} rate-limited, ${c.failures} failed attempts`,
    );
  }
  if (result.failedItemsTotal > 0) lines.push(`failed items: ${result.failedItemsTotal}`);
  if (result.interrupted) lines.push('resume with the same command and --checkpoint file');
  return `${lines.join('\n')}\n`;
}
