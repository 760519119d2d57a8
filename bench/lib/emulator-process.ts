import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { EmulatorStats } from '../../src/emulator/server.js';
import { CLI, childEnv } from './paths.js';

/** `cgsync emulator` running as its own process, driven through its `/__emulator/*` routes. */
export interface EmulatorProcess {
  /** Base URL, e.g. `http://127.0.0.1:45678`. */
  readonly url: string;
  readonly pid: number;
  stats(): Promise<EmulatorStats>;
  /** Forgets all state and counters. */
  reset(): Promise<void>;
  /** `GET /__emulator/state` as text (users sorted, groups by GroupId): compare two end states with it. */
  stateText(): Promise<string>;
  /** Stops it (SIGTERM, then SIGKILL after 5 s) and waits for the exit. */
  close(): Promise<void>;
}

/**
 * Starts `node dist/cli/main.js emulator --port 0 <args>` and waits for its first stdout line,
 * `emulator listening on http://127.0.0.1:PORT`.
 */
export async function startEmulatorProcess(args: readonly string[]): Promise<EmulatorProcess> {
  const child = spawn(process.execPath, [CLI, 'emulator', '--port', '0', ...args], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString('utf8')).slice(-4000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const timer = setTimeout(() => reject(new Error('emulator did not start within 15 s')), 15_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      const match = /^emulator listening on (http:\/\/\S+)$/.exec(line.trim());
      if (match?.[1] === undefined) reject(new Error(`unexpected first emulator line: ${line}`));
      else resolve(match[1]);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited with ${code} before listening: ${stderr}`));
    });
  });
  child.stdout?.resume();
  return {
    url,
    pid: child.pid as number,
    async stats() {
      const res = await fetch(`${url}/__emulator/stats`);
      if (!res.ok) throw new Error(`GET /__emulator/stats answered ${res.status}`);
      return (await res.json()) as EmulatorStats;
    },
    async reset() {
      const res = await fetch(`${url}/__emulator/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`POST /__emulator/reset answered ${res.status}`);
      await res.arrayBuffer();
    },
    async stateText() {
      const res = await fetch(`${url}/__emulator/state`);
      if (!res.ok) throw new Error(`GET /__emulator/state answered ${res.status}`);
      return res.text();
    },
    close: () => stopChild(child),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
