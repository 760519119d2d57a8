import { InvalidArgumentError } from 'commander';

/** The longest `--max-duration`: a year. Anything longer is a typo (e.g. milliseconds given as hours). */
export const MAX_DURATION_MS = 365 * 24 * 3_600_000;

const UNIT_MS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/**
 * `1d`, `5h`, `30m`, `90s`, `500ms`, combined largest first or not (`1h30m`, `1d12h`, `1.5s`), or a
 * bare number in `bareUnitMs` (1000: seconds, 1: milliseconds), in milliseconds; NaN when it is none.
 */
export function durationMs(value: string, bareUnitMs: number): number {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * bareUnitMs;
  let ms = 0;
  let consumed = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|d|h|m|s)/g)) {
    ms += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    consumed += m[0].length;
  }
  return consumed === 0 || consumed !== text.length ? Number.NaN : ms;
}

/**
 * Parses `--max-duration`-like values: `90s`, `30m`, `5h`, `1h30m`, `500ms`, `1d` or a plain number of
 * seconds, into milliseconds above 0 and at most a year.
 */
export function parseDuration(name: string): (value: string) => number {
  return (value) => {
    const rounded = Math.round(durationMs(value, 1000));
    if (!Number.isFinite(rounded) || rounded <= 0 || rounded > MAX_DURATION_MS) {
      throw new InvalidArgumentError(
        `Expected ${name} to be a duration above 0 and at most 365 days (8760h), such as 500ms, 90s, 30m, 5h, 1h30m or 1d, got "${value}"`,
      );
    }
    return rounded;
  };
}

/**
 * Parses a time in milliseconds (`--latency`, `--jitter`): a plain number of milliseconds, or a
 * duration such as `50ms`, `1.5s`; from 0 to `maxMs`.
 */
export function parseMilliseconds(name: string, maxMs: number): (value: string) => number {
  return (value) => {
    const ms = durationMs(value, 1);
    if (!Number.isFinite(ms) || ms < 0 || ms > maxMs) {
      throw new InvalidArgumentError(
        `Expected ${name} to be a time from 0 to ${maxMs} ms, as milliseconds (50) or a duration (50ms, 1.5s), got "${value}"`,
      );
    }
    return ms;
  };
}

/**
 * Parses a time in whole seconds (`usersig --expire`): a plain number of seconds or a duration such as
 * `12h`, `1d`; from 1 s to `maxSeconds`.
 */
export function parseSeconds(name: string, maxSeconds: number): (value: string) => number {
  return (value) => {
    const seconds = durationMs(value, 1000) / 1000;
    if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > maxSeconds) {
      throw new InvalidArgumentError(
        `Expected ${name} to be a whole number of seconds from 1 to ${maxSeconds}, or a duration such as 12h or 1d, got "${value}"`,
      );
    }
    return seconds;
  };
}

/** The shortest `--progress-interval`: shorter would flood the log. */
export const MIN_PROGRESS_INTERVAL_MS = 50;

/** Parses `--progress-interval`: a duration (`500ms`, `30s`, `1m`; a plain number is seconds) from 50 ms to a day. */
export function parseProgressInterval(value: string): number {
  const rounded = Math.round(durationMs(value, 1000));
  if (!Number.isFinite(rounded) || rounded < MIN_PROGRESS_INTERVAL_MS || rounded > 86_400_000) {
    throw new InvalidArgumentError(
      `Expected --progress-interval to be a duration from 50ms to 1d, such as 500ms, 10s or 1m, got "${value}"`,
    );
  }
  return rounded;
}
