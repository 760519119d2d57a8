import { setMaxListeners } from 'node:events';
import { SyncError } from '../errors.js';
import type { CliIo } from './io.js';
import { runCli } from './run.js';

/** The signals that stop a run cleanly (exit 3, resumable); a second one exits at once. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * The process around {@link runCli}: SIGINT, SIGTERM and SIGHUP abort the run's signal with
 * `SyncError('INTERRUPTED')` (every phase stops cleanly, exit 3); a second signal exits at once
 * (130 for SIGINT, 128 + the signal's number otherwise). Sets `process.exitCode`; `extra` lets a test
 * entry point add its own hooks to the io.
 */
export async function runMain(argv: readonly string[], extra: Partial<CliIo> = {}): Promise<void> {
  const controller = new AbortController();
  // Every waiting call of a run listens to this signal: hundreds of listeners are expected.
  setMaxListeners(0, controller.signal);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) process.exit(signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143);
    controller.abort(new SyncError('INTERRUPTED', `received ${signal}`));
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  process.exitCode = await runCli(argv, {
    // Touched only when the input is `-`: creating the stream otherwise is needless.
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
    ...extra,
  });
}
