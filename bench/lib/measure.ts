import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv } from './paths.js';

const GNU_TIME = '/usr/bin/time';

/** One finished child process, measured from outside. */
export interface MeasuredRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time from spawn to exit, ms. */
  readonly wallMs: number;
  /** Peak resident set size of the process in bytes (GNU time's "Maximum resident set size"), if known. */
  readonly peakRssBytes: number | undefined;
}

/** Whether GNU time is there to measure peak RSS (`apt-get install time` otherwise). */
export function hasGnuTime(): boolean {
  return existsSync(GNU_TIME);
}

/**
 * Runs `node <args>` as a separate process, under GNU `time -v` when available (its report goes to a
 * file, so stderr stays the program's own), and returns its output, wall time and peak RSS.
 */
export async function runNode(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<MeasuredRun> {
  const dir = await mkdtemp(join(tmpdir(), 'cgsync-bench-time-'));
  const timeFile = join(dir, 'time.txt');
  const useTime = hasGnuTime();
  const command = useTime ? GNU_TIME : process.execPath;
  const argv = useTime ? ['-v', '-o', timeFile, process.execPath, ...args] : [...args];
  try {
    const started = performance.now();
    const child = spawn(command, argv, {
      cwd: options.cwd,
      env: options.env ?? childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGTERM'), options.timeoutMs);
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
    });
    const wallMs = performance.now() - started;
    if (timer !== undefined) clearTimeout(timer);
    let peakRssBytes: number | undefined;
    if (useTime) {
      const report = await readFile(timeFile, 'utf8').catch(() => '');
      const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(report)?.[1];
      if (kb !== undefined) peakRssBytes = Number(kb) * 1024;
    }
    return {
      exitCode,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
      wallMs,
      peakRssBytes,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The last non-empty stdout line parsed as JSON (the `--json` summaries print one line). */
export function lastJsonLine(run: MeasuredRun): Record<string, unknown> {
  const lines = run.stdout.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  try {
    const value: unknown = JSON.parse(last);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // reported below
  }
  throw new Error(
    `expected a JSON summary on the last stdout line (exit ${run.exitCode}); stderr ends:\n${run.stderr.slice(-2000)}`,
  );
}
