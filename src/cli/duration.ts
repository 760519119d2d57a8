import { InvalidArgumentError } from 'commander';

/** Parses `90s`, `30m`, `5h`, `1h30m` or a plain number of seconds into milliseconds. */
export function parseDuration(name: string): (value: string) => number {
  return (value) => {
    const text = value.trim();
    if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
    const re = /(\d+(?:\.\d+)?)(h|m|s|ms)/g;
    let ms = 0;
    let consumed = 0;
    for (const m of text.matchAll(re)) {
      const n = Number(m[1]);
      ms += n * (m[2] === 'h' ? 3_600_000 : m[2] === 'm' ? 60_000 : m[2] === 's' ? 1000 : 1);
      consumed += m[0].length;
    }
    if (consumed !== text.length || consumed === 0 || ms <= 0) {
      throw new InvalidArgumentError(
        `Expected ${name} to be a duration such as 90s, 30m, 5h or 1h30m, got "${value}"`,
      );
    }
    return Math.round(ms);
  };
}
