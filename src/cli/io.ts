import type { Readable, Writable } from 'node:stream';
import { SyncError } from '../errors.js';
import { redactSecrets } from '../log.js';
import type { OnPhase } from '../sync/phase.js';

/** What a command may touch of the outside world; tests pass their own. */
export interface CliIo {
  /** Read when the input is `-`. */
  readonly stdin?: Readable & { isTTY?: boolean };
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Aborted on SIGINT/SIGTERM/SIGHUP by the entry point, with `SyncError('INTERRUPTED')`. */
  readonly signal?: AbortSignal;
  /** Told as each phase of a job begins (tests use it to land a signal in a given phase). */
  readonly onPhase?: OnPhase;
}

/** Exit codes, the contract scripts rely on (README "Exit codes"). Set only in src/cli/. */
export const EXIT = {
  ok: 0,
  fatal: 1,
  changesOrDrift: 2,
  interrupted: 3,
  partial: 4,
  /** The deletion guard refused the run before any write: a person should look (`plan` shows why). */
  refused: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export function writeLine(stream: Writable, text = ''): void {
  stream.write(`${text}\n`);
}

/** The text of an error for the user: a SyncError's message, anything else as unexpected; no secrets. */
export function describeError(err: unknown): string {
  if (err instanceof SyncError) return redactSecrets(err.message);
  if (err instanceof Error) return redactSecrets(`unexpected error: ${err.message}`);
  return redactSecrets(`unexpected error: ${String(err)}`);
}

/**
 * Passes the first `max` warnings to `write`, then says once that the rest are not shown: a service
 * that reads its pages another way may make one warning per user.
 */
export function boundedWarnings(write: (message: string) => void, max = 20): (message: string) => void {
  let seen = 0;
  return (message) => {
    seen++;
    if (seen <= max) write(message);
    else if (seen === max + 1) write(`more warnings follow; only the first ${max} are shown`);
  };
}
