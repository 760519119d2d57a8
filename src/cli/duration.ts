import { InvalidArgumentError } from 'commander';

/** The longest `--max-duration`: a year. Anything longer is a typo (e.g. milliseconds given as hours). */
export const MAX_DURATION_MS = 365 * 24 * 3_600_000;

/** Parses `90s`, `30m`, `5h`, `1h30m`, `500ms` or a plain number of seconds into milliseconds. */
export function parseDuration(name: string): (value: string) => number {
  return (value) => {
    const text = value.trim();
    let ms = Number.NaN;
    if (/^\d+(\.\d+)?$/.test(text)) {
      ms = Number(text) * 1000;
    } else {
      const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/g;
      let consumed = 0;
      ms = 0;
      for (const m of text.matchAll(re)) {
        const n = Number(m[1]);
        ms += n * (m[2] === 'h' ? 3_600_000 : m[2] === 'm' ? 60_000 : m[2] === 's' ? 1000 : 1);
        consumed += m[0].length;
      }
      if (consumed !== text.length || consumed === 0) ms = Number.NaN;
    }
    const rounded = Math.round(ms);
    if (!Number.isFinite(rounded) || rounded <= 0 || rounded > MAX_DURATION_MS) {
      throw new InvalidArgumentError(
        `Expected ${name} to be a duration above 0 and at most 365 days (8760h), such as 90s, 30m, 5h or 1h30m, got "${value}"`,
      );
    }
    return rounded;
  };
}
