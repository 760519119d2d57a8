import type { LiveStats, ProgressSink, RunResult } from '../executor/run-apply.js';
import type { Logger } from '../log.js';

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Where the bar and the summary go (stderr). */
  readonly stream: NodeJS.WritableStream & { readonly isTTY?: boolean };
  /** Used instead of the bar when the stream is not a terminal: periodic JSON lines. */
  readonly logger?: Logger;
  /** Operations planned in all, when known (for done/total and ETA). */
  readonly totalOps?: number;
  /** @default stream.isTTY */
  readonly tty?: boolean;
  /**
   * Redraw interval: at most 4 redraws per second on a terminal.
   * @default 250 on a terminal, 10000 otherwise
   */
  readonly intervalMs?: number;
}

/** A progress display: a one-line bar on a terminal, periodic pino lines otherwise. */
export interface Progress extends ProgressSink {
  /** Stops the display and prints the final summary (always, also after an interrupt). */
  finish(result: RunResult): void;
}

const SAMPLE_WINDOW_MS = 5000;

function formatDuration(ms: number): string {
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

/** The bar's text: ops done/total, calls/s, ETA, errors. */
export function formatProgressLine(stats: LiveStats, callsPerSecond: number, totalOps?: number): string {
  const done = stats.opsOk + stats.opsFailed;
  const parts: string[] = [];
  if (totalOps !== undefined && totalOps > 0) {
    const pct = Math.min(100, Math.floor((done / totalOps) * 100));
    const width = 20;
    const filled = Math.round((pct / 100) * width);
    parts.push(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% ${done}/${totalOps} ops`);
  } else {
    parts.push(`${done} ops`);
  }
  parts.push(`${callsPerSecond.toFixed(0)} calls/s`);
  if (totalOps !== undefined && callsPerSecond > 0 && done < totalOps) {
    parts.push(`ETA ${formatDuration(((totalOps - done) / callsPerSecond) * 1000)}`);
  }
  parts.push(`users ${stats.usersDone} done ${stats.usersFailed} failed`);
  parts.push(`errors ${stats.opsFailed} ops, ${stats.failures} calls`);
  return parts.join(' | ');
}

/**
 * The final summary, several lines of plain text. The cause of a fatal stop is not in it: the caller
 * ends its output with it (one `error: <cause>` line, after anything else it prints).
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
  for (const [endpoint, c] of Object.entries(result.endpoints)) {
    if (c.calls === 0) continue;
    lines.push(
      `${endpoint}: ${c.calls} calls, ${c.retries} retries, ${c.rateLimited} rate-limited, ${c.failures} failed attempts`,
    );
  }
  if (result.failedItemsTotal > 0) lines.push(`failed items: ${result.failedItemsTotal}`);
  if (result.interrupted) lines.push('resume with the same command and --checkpoint file');
  return `${lines.join('\n')}\n`;
}

/** Creates the progress display of `apply`. */
export function createProgress(options: ProgressOptions): Progress {
  const tty = options.tty ?? options.stream.isTTY === true;
  const intervalMs = options.intervalMs ?? (tty ? 250 : 10_000);
  let timer: NodeJS.Timeout | undefined;
  let read: (() => LiveStats) | undefined;
  const samples: { at: number; calls: number }[] = [];
  let drawn = false;

  const rate = (stats: LiveStats): number => {
    samples.push({ at: stats.elapsedMs, calls: stats.calls });
    while (samples.length > 2 && (samples[0] as { at: number }).at < stats.elapsedMs - SAMPLE_WINDOW_MS)
      samples.shift();
    const first = samples[0] as { at: number; calls: number };
    const span = stats.elapsedMs - first.at;
    return span > 0 ? ((stats.calls - first.calls) * 1000) / span : 0;
  };

  const tick = () => {
    if (read === undefined) return;
    const stats = read();
    const perSecond = rate(stats);
    if (tty) {
      options.stream.write(`\r\x1b[K${formatProgressLine(stats, perSecond, options.totalOps)}`);
      drawn = true;
    } else if (options.logger !== undefined) {
      options.logger.info(
        { progress: { ...stats, callsPerSecond: Math.round(perSecond) } },
        'apply progress',
      );
    } else {
      options.stream.write(`${formatProgressLine(stats, perSecond, options.totalOps)}\n`);
    }
  };

  const stop = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    if (drawn) options.stream.write('\r\x1b[K');
    drawn = false;
  };

  return {
    start(source) {
      read = source;
      timer = setInterval(tick, intervalMs);
      timer.unref();
    },
    stop,
    finish(result) {
      stop();
      if (!tty && options.logger !== undefined) {
        const { failedItems: _items, fatal, ...rest } = result;
        options.logger.info(
          { summary: { ...rest, ...(fatal ? { fatal: fatal.message } : {}) } },
          'apply finished',
        );
      } else {
        options.stream.write(formatSummary(result));
      }
    },
  };
}
