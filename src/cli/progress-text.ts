import type { LiveStats, RunResult } from '../executor/run-apply.js';
import { type Completion, etaMs, percentOf, type Rates } from '../sync/completion.js';
import type { ReadProgress } from '../sync/read-progress.js';
import type { Endpoint } from '../tencent/wire.js';

export {
  type Completion,
  completionOf,
  etaMs,
  type ProgressTotals,
  percentOf,
  RateMeter,
  type Rates,
  usersSettled,
} from '../sync/completion.js';

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

function bar(c: Completion): string {
  const pct = percentOf(c);
  const width = 20;
  const filled = Math.round((pct / 100) * width);
  // An estimated total (--stream before the end of the file) says so: `~`.
  const total = `${c.estimated === true ? '~' : ''}${c.total}`;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% ${c.done}/${total} ${c.unit}`;
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
