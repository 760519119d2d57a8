import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { CLI_MAIN } from './cli-process.js';

/** How a `cgsync` child process ended. */
export interface CliExit {
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The hard timeout fired and the process was SIGKILLed. */
  readonly timedOut: boolean;
}

/** A running `cgsync` child process. */
export interface CliChild {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Output so far (the last `maxOutputBytes` characters of each stream). */
  stdout(): string;
  stderr(): string;
  /** Settles when the process has exited; never rejects. */
  readonly exited: Promise<CliExit>;
  /** Sends `signal` (default SIGKILL) to this process only; a no-op once it has exited. */
  kill(signal?: NodeJS.Signals): void;
}

/** Options of {@link spawnCli}. */
export interface SpawnCliOptions {
  /** The child's whole environment is PATH plus this: nothing of the parent's TENCENT_* leaks in. */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /**
   * After this long the process is SIGKILLed and `timedOut` is set: a hung child never outlives a test.
   * @default 20000
   */
  readonly timeoutMs?: number;
  /** The entry point to run. @default dist/cli/main.js (built by test/global-setup.ts) */
  readonly main?: string;
  /** Extra node flags, e.g. `--max-old-space-size=256`. @default [] */
  readonly nodeArgs?: readonly string[];
  /**
   * Output kept per stream, in characters (the tail).
   * @default 1000000
   */
  readonly maxOutputChars?: number;
}

const running = new Set<CliChild>();

/** Spawns `node dist/cli/main.js ...args`; remember to await `exited` or call {@link killAllCli}. */
export function spawnCli(args: readonly string[], options: SpawnCliOptions): CliChild {
  const max = options.maxOutputChars ?? 1_000_000;
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.main ?? CLI_MAIN, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const keep = (s: string, d: Buffer) => {
    const next = s + d.toString('utf8');
    return next.length > max ? next.slice(next.length - max) : next;
  };
  child.stdout?.on('data', (d: Buffer) => {
    out = keep(out, d);
  });
  child.stderr?.on('data', (d: Buffer) => {
    err = keep(err, d);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 20_000);
  const exited = new Promise<CliExit>((resolve) => {
    child.on('error', (e) => {
      err += `\nspawn error: ${e.message}`;
    });
    // 'close' (not 'exit'): the pipes are drained, so the output is complete.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(handle);
      resolve({ code, signal, stdout: out, stderr: err, timedOut });
    });
  });
  const handle: CliChild = {
    pid: child.pid ?? -1,
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
  running.add(handle);
  return handle;
}

/** Runs `cgsync ...args` to the end. */
export function runCliProcess(args: readonly string[], options: SpawnCliOptions): Promise<CliExit> {
  return spawnCli(args, options).exited;
}

/** SIGKILLs every child spawned here that is still running, and waits for them (for afterAll/finally). */
export async function killAllCli(): Promise<void> {
  const left = [...running];
  for (const c of left) c.kill('SIGKILL');
  await Promise.all(left.map((c) => c.exited));
}

/** One sample of a process's resident memory and open file descriptors, from /proc (Linux). */
export interface ProcessSample {
  /** Milliseconds since the sampler started. */
  readonly atMs: number;
  readonly rssBytes: number;
  readonly fds: number;
  /** CPU time used so far (user + system), in ms. */
  readonly cpuMs: number;
}

/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

/** RSS and open fds of `pid` now, or undefined once it is gone. */
export function sampleProcess(pid: number, atMs = 0): ProcessSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    if (rss === null) return undefined; // a zombie has no VmRSS line
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th, in ticks.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuMs = ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
    return { atMs, rssBytes: Number(rss[1]) * 1024, fds, cpuMs };
  } catch {
    return undefined;
  }
}

/** Samples `pid` every `everyMs` until it exits (or `stop()`); `samples` grows as it goes. */
export function startSampler(pid: number, everyMs: number): { samples: ProcessSample[]; stop(): void } {
  const samples: ProcessSample[] = [];
  const started = performance.now();
  const take = () => {
    const s = sampleProcess(pid, Math.round(performance.now() - started));
    if (s !== undefined) samples.push(s);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    samples,
    stop: () => clearInterval(timer),
  };
}
