import type { Endpoint } from '../tencent/wire.js';
import type { PlanSummary } from './summary.js';

/** Whole numbers with thousands separators, the same on every machine. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

/** `0.4 s`, `12 s`, `3 min 20 s`, `2 h 05 min`. */
export function formatDuration(seconds: number): string {
  if (seconds < 10) return `${(Math.ceil(seconds * 10) / 10).toFixed(1)} s`;
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** A count with a sign (`+3`, `−2`), or `0` without one: never `−0`. */
export function signedCount(n: number, sign: '+' | '−'): string {
  return n === 0 ? '0' : `${sign}${formatCount(n)}`;
}

/** What the reports say in their header: what was planned, by what, for which app, when. */
export interface ReportHeader {
  /** The input as it was named (`standard input` for `-`). */
  readonly input: string;
  /** sha256 (hex) of the input's bytes. */
  readonly sha256: string;
  /** e.g. `cgsync 0.1.0`. */
  readonly toolVersion: string;
  /** `SDKAppID … at host`; absent when none was configured (`--assume-empty`). */
  readonly target?: string;
  /** ISO 8601 time the plan was made. */
  readonly madeAt: string;
}

/** The header's facts as label/value pairs, in report order. */
export function headerFacts(header: ReportHeader): [string, string][] {
  return [
    ['input', header.input],
    ['sha256', header.sha256],
    ['target', header.target ?? 'none configured (the app was not read)'],
    ['made', header.madeAt],
    ['by', header.toolVersion],
  ];
}

/**
 * The estimate in words: how long, at which rate, latency and concurrency, and mirror's two phases.
 * `estimated 1 min 10 s at 200 calls/s per endpoint, 50 ms latency, 60 users in flight (…)`.
 */
export function describeEstimate(s: PlanSummary): string {
  const latency =
    s.latencyMs > 0
      ? `${formatCount(s.latencyMs)} ms latency`
      : s.assumeEmpty
        ? 'latency not counted (give --latency)'
        : '0 ms latency';
  const phases =
    s.estimatedReadSeconds > 0
      ? `: reading every user first ${formatDuration(s.estimatedReadSeconds)}, then the writes ${formatDuration(s.estimatedSeconds - s.estimatedReadSeconds)}`
      : '';
  const reached =
    s.observedCallsPerSecond > 0
      ? `, at most the ${formatCount(Math.round(s.observedCallsPerSecond))} calls/s the plan's reads reached`
      : '';
  return (
    `${formatDuration(s.estimatedSeconds)} at ${formatCount(s.rate)} calls/s per endpoint, ${latency}, ` +
    `${formatCount(s.concurrency)} users in flight${reached}${phases}; retries not counted`
  );
}

/** `1 group`, `2 groups`. */
export function plural(n: number, word: string): string {
  return `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
}

/** The endpoints in report order, with a short human name. */
export const ENDPOINT_LABELS: readonly (readonly [Endpoint, string])[] = [
  ['create_contact_group', 'create'],
  ['update_contact_group', 'update'],
  ['del_contact_group', 'delete'],
  ['get_contact_group', 'read'],
  ['search_contact_group', 'search'],
];

/** The endpoints a summary calls (search only when used). */
export function endpointRows(
  summary: PlanSummary,
): { endpoint: Endpoint; label: string; calls: number; seconds: number }[] {
  return ENDPOINT_LABELS.filter(([e]) => e !== 'search_contact_group' || summary.calls[e] > 0).map(
    ([endpoint, label]) => ({
      endpoint,
      label,
      calls: summary.calls[endpoint],
      seconds: summary.calls[endpoint] / summary.rate,
    }),
  );
}

export function describeMode(summary: PlanSummary): string {
  const state = summary.assumeEmpty
    ? 'app assumed empty (--assume-empty)'
    : 'current state read from the app';
  return `${summary.mode} mode, ${state}`;
}

export function totalWrites(summary: PlanSummary): number {
  return (
    summary.calls.create_contact_group + summary.calls.update_contact_group + summary.calls.del_contact_group
  );
}

export function usersUnchanged(summary: PlanSummary): number {
  return summary.users - summary.usersWithChanges - summary.usersOverLimits;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** User data for HTML: controls revealed, then escaped. */
export function htmlText(text: string): string {
  return escapeHtml(revealControls(text));
}

/**
 * Escapes text for a Markdown table cell or inline text (never at a line start): backslash-escapes
 * the inline punctuation (`|`, backticks, `*`, `_`, `[`, `]`, `~`, `\`), writes `&`, `<` and `>` as
 * entities, shows line breaks as `↵` and other controls as escapes.
 */
export function escapeMarkdown(text: string): string {
  const escaped = text
    .replace(/&/g, '&amp;')
    .replace(/[\\`*_[\]|~]/g, (c) => `\\${c}`)
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r\n|\r|\n/g, '↵');
  return revealControls(escaped);
}

/**
 * Shows control characters (which could move a terminal's cursor or change its colours) and
 * bidirectional overrides (which could make one name look like another) as `\u{…}` escapes.
 * Every renderer applies it to user data.
 */
export function revealControls(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    return `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`;
  });
}
