import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname } from 'node:path';

/** A markdown table; columns whose cells all start with a figure are right-aligned. */
export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const figure = /^[≈~]? ?\d[\d.,]*( ?(s|h|MB|%|×|k\/s))?$/;
  const align = headers.map((_, i) =>
    rows.length > 0 && rows.every((r) => figure.test(String(r[i] ?? ''))) ? '--:' : ':--',
  );
  const line = (cells: readonly (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
  return [line(headers), line(align), ...rows.map(line)].join('\n');
}

export const mb = (bytes: number | undefined): string =>
  bytes === undefined ? 'n/a' : `${Math.round(bytes / 1024 / 1024)} MB`;
export const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
export const int = (n: number): string => Math.round(n).toLocaleString('en-US');
export const pct = (ratio: number): string => `${(ratio * 100).toFixed(1)}%`;
export const kRate = (perSecond: number): string =>
  `${Math.round(perSecond / 1000).toLocaleString('en-US')}k/s`;

/** `load 1.23 1.10 0.98`: the 1, 5 and 15 minute load averages (other helpers may be running tests). */
export function loadLine(): string {
  return `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

/** Processors usable by this process (what `nproc` prints). */
export function cpuCount(): number {
  try {
    return Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    return availableParallelism();
  }
}

/** The commit the figures belong to (`+changes` when the working tree differs from it). */
export function commitLabel(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync(
      'git',
      ['status', '--porcelain', '--untracked-files=no', '--', 'src', 'bench'],
      {
        encoding: 'utf8',
      },
    ).trim();
    return dirty === '' ? head : `${head}+changes`;
  } catch {
    return 'unknown';
  }
}

/** The environment line every section starts with. */
export function machineLine(): string {
  return `${new Date().toISOString()} · commit ${commitLabel()} · node ${process.version} · nproc ${cpuCount()} · ${loadLine()} at start`;
}

/**
 * A section of bench/RESULTS.md: printed, and written to `mdPath` when given (run-all.sh assembles
 * the sections).
 */
export async function emitSection(mdPath: string | undefined, lines: readonly string[]): Promise<void> {
  const text = `${lines.join('\n')}\n`;
  process.stdout.write(`${text}\n`);
  if (mdPath !== undefined) {
    await mkdir(dirname(mdPath), { recursive: true });
    await writeFile(mdPath, text);
  }
}

/** Progress notes go to stderr, so stdout holds only the result. */
export function note(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** A positive number from the environment, or the fallback. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`Expected ${name} to be a number above 0, got "${raw}"`);
  return value;
}

/** FULL=1 selects the full sizes. */
export const FULL = process.env.FULL === '1';
