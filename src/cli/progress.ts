import type { LiveStats, ProgressSink, RunResult } from '../executor/run-apply.js';
import type { Logger } from '../log.js';
import { completionFields, ProgressMeter } from '../sync/completion.js';
import type { OnReadProgress, ReadProgress } from '../sync/read-progress.js';
import {
  etaMs,
  formatProgressLine,
  formatReadLine,
  formatSummary,
  type ProgressTotals,
  percentOf,
  RateMeter,
  type Rates,
} from './progress-text.js';

export { formatProgressLine, formatSummary } from './progress-text.js';

/** Options of {@link createProgress} and {@link createReadProgress}. */
export interface ProgressOptions {
  /** Where the bar and the summary go (stderr). */
  readonly stream: NodeJS.WritableStream & { readonly isTTY?: boolean };
  /** Used instead of the bar when the stream is not a terminal: periodic JSON lines. */
  readonly logger?: Logger;
  /** What the run counts against, when known (for done/total, percentage and ETA). */
  readonly totals?: ProgressTotals;
  /** @default stream.isTTY */
  readonly tty?: boolean;
  /**
   * Interval of the JSON progress lines off a terminal (`--progress-interval`); the bar on a terminal
   * is redrawn every 250 ms whatever it is.
   * @default 10000
   */
  readonly intervalMs?: number;
  /** @internal The clock of the read phase's rate (ms). @default performance.now */
  readonly now?: () => number;
}

/** The interval of JSON progress lines when `--progress-interval` is not given. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 10_000;
const BAR_INTERVAL_MS = 250;

/** A progress display: a one-line bar on a terminal, periodic pino lines otherwise. */
export interface Progress extends ProgressSink {
  /** Stops the display and prints the final summary (always, also after an interrupt). */
  finish(result: RunResult): void;
}

/** The read phase's display (mirror's reads, `plan`, `verify`): told the count, shown at the interval. */
export interface ReadDisplay {
  update(progress: ReadProgress): void;
  /** Stops the display (clears the bar); idempotent. */
  stop(): void;
}

function rounded(rates: Rates): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(rates)) if (v > 0) out[k] = Math.round(v * 10) / 10;
  return out;
}

/** Creates the progress display of `apply`'s writes. */
export function createProgress(options: ProgressOptions): Progress {
  const tty = options.tty ?? options.stream.isTTY === true;
  const intervalMs = tty ? BAR_INTERVAL_MS : (options.intervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS);
  const meter = new ProgressMeter(options.totals ?? {});
  let timer: NodeJS.Timeout | undefined;
  let read: (() => LiveStats) | undefined;
  let drawn = false;

  const tick = () => {
    if (read === undefined) return;
    const stats = read();
    const { rates, completion, etaMs: eta } = meter.sample(stats);
    const endpointRates: Record<string, number> = {};
    for (const endpoint of Object.keys(stats.endpointCalls)) endpointRates[endpoint] = rates[endpoint] ?? 0;
    if (tty) {
      options.stream.write(`\r\x1b[K${formatProgressLine(stats, endpointRates, completion, eta)}`);
      drawn = true;
    } else if (options.logger !== undefined) {
      const { endpointCalls, ...counts } = stats;
      options.logger.info(
        {
          progress: {
            ...counts,
            ...completionFields(completion, eta),
            callsPerSecond: rounded(endpointRates),
            calls: endpointCalls,
          },
        },
        'apply progress',
      );
    } else {
      options.stream.write(`${formatProgressLine(stats, endpointRates, completion, eta)}\n`);
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
    // The writes ended: off a terminal, a last progress line tells where (100% when they all settled).
    stop() {
      if (!tty && timer !== undefined) tick();
      stop();
    },
    finish(result) {
      stop();
      if (!tty && options.logger !== undefined) {
        const { failedItems: _items, fatal, ...rest } = result;
        const seconds = result.durationMs / 1000;
        const callsPerSecond: Record<string, number> = {};
        for (const [endpoint, c] of Object.entries(result.endpoints)) {
          if (c.calls > 0 && seconds > 0)
            callsPerSecond[endpoint] = Math.round((c.calls / seconds) * 10) / 10;
        }
        options.logger.info(
          { summary: { ...rest, callsPerSecond, ...(fatal ? { fatal: fatal.message } : {}) } },
          'apply finished',
        );
      } else {
        options.stream.write(formatSummary(result));
      }
    },
  };
}

/**
 * The display of a read phase: `what` (e.g. `reading the app`), users read / total, users per second
 * and ETA; a bar on a terminal, pino lines at the interval otherwise. Nothing is shown before the first
 * user was read.
 */
export function createReadProgress(what: string, options: ProgressOptions): ReadDisplay {
  const tty = options.tty ?? options.stream.isTTY === true;
  const intervalMs = tty ? BAR_INTERVAL_MS : (options.intervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS);
  const now = options.now ?? (() => performance.now());
  const meter = new RateMeter();
  const started = now();
  meter.add(0, { users: 0 });
  let latest: ReadProgress | undefined;
  let drawn = false;
  let timer: NodeJS.Timeout | undefined = setInterval(() => {
    if (latest === undefined) return;
    const perSecond = meter.add(now() - started, { users: latest.read }).users ?? 0;
    if (tty) {
      options.stream.write(`\r\x1b[K${formatReadLine(what, latest, perSecond)}`);
      drawn = true;
      return;
    }
    const total = latest.total === undefined ? undefined : Math.max(latest.total, latest.read);
    const c = total === undefined ? undefined : { done: latest.read, total, unit: 'users' as const };
    const eta = etaMs(c, perSecond);
    const fields = {
      read: {
        users: latest.read,
        ...(c === undefined ? {} : { total: c.total, percent: percentOf(c) }),
        usersPerSecond: Math.round(perSecond * 10) / 10,
        ...(eta === undefined ? {} : { etaSeconds: Math.round(eta / 1000) }),
      },
    };
    if (options.logger !== undefined) options.logger.info(fields, what);
    else options.stream.write(`${formatReadLine(what, latest, perSecond)}\n`);
  }, intervalMs);
  timer.unref();
  return {
    update(progress) {
      latest = progress;
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      if (drawn) options.stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}

/**
 * A command's read progress: `onReadProgress` for the job's options (the display is created at the
 * first user read, so a run that reads nothing shows nothing), `stop` once reading is over. Nothing
 * is shown when `enabled` is false (`--quiet`).
 */
export function readProgressHook(
  what: string,
  enabled: boolean,
  options: ProgressOptions,
): { readonly onReadProgress: OnReadProgress; stop(): void } {
  let display: ReadDisplay | undefined;
  let stopped = false;
  return {
    onReadProgress(progress) {
      if (!enabled || stopped) return;
      display ??= createReadProgress(what, options);
      display.update(progress);
    },
    stop() {
      stopped = true;
      display?.stop();
    },
  };
}
