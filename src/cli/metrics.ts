import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import type { EndpointCounts } from '../executor/rate/stats.js';
import { ENDPOINTS, type Endpoint } from '../tencent/wire.js';

/** What a run's metrics file says (`--metrics-file`). */
export interface RunMetrics {
  /** The command: `apply`. */
  readonly command: string;
  readonly exitCode: number;
  readonly durationMs: number;
  /** When the run ended. */
  readonly endedAt: Date;
  /** Per endpoint, every call the run started (reads included). Absent when it made no call. */
  readonly endpoints?: Readonly<Record<Endpoint, EndpointCounts>>;
  /** Users by outcome (`done`, `failed`, …); absent when the run ended before it had any. */
  readonly users?: Readonly<Record<string, number>>;
}

const SUCCESS = 'cgsync_last_success_timestamp_seconds';

/** Label values escaped as the text format wants them: backslash, double quote and line feed. */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The `run` label of a metrics file: its name without `.prom`, so two jobs' files never collide. */
export function runLabel(path: string): string {
  return basename(path).replace(/\.prom$/, '');
}

/**
 * The Prometheus text format (version 0.0.4) of a run, as node_exporter's textfile collector reads it.
 * Every series carries `run="<file name>"`. `lastSuccess`: the time of the last run that exited 0 (this
 * one's end when it did), in seconds; 0 when none is known.
 */
export function formatMetrics(metrics: RunMetrics, run: string, lastSuccess: number): string {
  const base = `run="${label(run)}",command="${label(metrics.command)}"`;
  const lines: string[] = [];
  const gauge = (name: string, help: string, samples: readonly [string, number][]): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, value] of samples) lines.push(`${name}{${base}${labels}} ${value}`);
  };
  const perEndpoint = (key: keyof EndpointCounts): [string, number][] =>
    ENDPOINTS.map((e) => [`,endpoint="${e}"`, metrics.endpoints?.[e][key] ?? 0]);
  gauge(
    'cgsync_last_run_calls',
    'Calls the last run started, per endpoint (every attempt).',
    perEndpoint('calls'),
  );
  gauge(
    'cgsync_last_run_retries',
    'Attempts of the last run that repeated a failed one.',
    perEndpoint('retries'),
  );
  gauge(
    'cgsync_last_run_rate_limited',
    'Rate-limit answers (60007, 429, ...) the last run got, per endpoint.',
    perEndpoint('rateLimited'),
  );
  gauge(
    'cgsync_last_run_failures',
    'Attempts of the last run that failed, per endpoint.',
    perEndpoint('failures'),
  );
  gauge(
    'cgsync_last_run_users',
    'Users of the last run by outcome.',
    Object.entries(metrics.users ?? {}).map(([outcome, n]) => [`,outcome="${label(outcome)}"`, n]),
  );
  gauge('cgsync_last_run_duration_seconds', 'How long the last run took.', [['', metrics.durationMs / 1000]]);
  gauge('cgsync_last_run_exit_code', 'The exit code of the last run (README: Exit codes).', [
    ['', metrics.exitCode],
  ]);
  gauge('cgsync_last_run_timestamp_seconds', 'When the last run ended.', [
    ['', Math.floor(metrics.endedAt.getTime() / 1000)],
  ]);
  gauge(SUCCESS, 'When the last run that exited 0 ended (0: none known).', [['', lastSuccess]]);
  return `${lines.join('\n')}\n`;
}

/** The last-success time a previous metrics file recorded, or 0. */
export async function previousSuccess(path: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return 0;
  }
  const m = new RegExp(`^${SUCCESS}(?:\\{[^}]*\\})? ([0-9.eE+]+)$`, 'm').exec(text);
  const value = m === null ? 0 : Number(m[1]);
  return Number.isFinite(value) && value >= 0 ? value : 0;
}

/**
 * Writes the metrics file at the end of a run: to a temporary name in the same folder (not ending in
 * `.prom`, so the collector never reads a part), then renamed. Mode 0644: node_exporter runs as its own
 * user, and the file holds no user ID. The time of the last success is carried over from the previous
 * file when this run did not exit 0.
 */
export async function writeMetricsFile(path: string, metrics: RunMetrics): Promise<void> {
  const lastSuccess =
    metrics.exitCode === 0 ? Math.floor(metrics.endedAt.getTime() / 1000) : await previousSuccess(path);
  await writeFileAtomic(path, formatMetrics(metrics, runLabel(path), lastSuccess), 0o644);
}
