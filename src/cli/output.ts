import { createLogger, type Logger } from '../log.js';
import type { CliIo } from './io.js';
import { writeLine } from './io.js';

/** `--log-level` values, most verbose first (pino's levels). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

/** The flags every command that talks to the service takes for its stderr. */
export interface OutputFlags {
  /** @default 'info' */
  logLevel?: LogLevel;
  /** No progress display and no informational lines: `--log-level warn` without the bar. */
  quiet?: boolean;
}

/** Where a command's human-facing lines go (stderr), filtered by `--log-level` and `--quiet`. */
export interface Output {
  readonly level: LogLevel;
  readonly quiet: boolean;
  /** pino at `level`, writing to stderr. */
  readonly logger: Logger;
  /** An informational line (the target, files written, the guard's verdict when it passes). */
  info(message: string): void;
  /** `warning: <message>`. */
  warn(message: string): void;
  /** Whether a level's lines are shown. */
  shows(level: Exclude<LogLevel, 'silent'>): boolean;
}

const rank = (level: LogLevel): number => LOG_LEVELS.indexOf(level);

/** The output of a command: `--quiet` raises the level to at least `warn`. */
export function createOutput(io: CliIo, flags: OutputFlags = {}): Output {
  const asked = flags.logLevel ?? 'info';
  const quiet = flags.quiet === true;
  const level: LogLevel = quiet && rank(asked) < rank('warn') ? 'warn' : asked;
  const shows = (l: Exclude<LogLevel, 'silent'>): boolean => rank(l) >= rank(level);
  return {
    level,
    quiet,
    logger: createLogger({ level, destination: io.stderr }),
    info(message) {
      if (shows('info')) writeLine(io.stderr, message);
    },
    warn(message) {
      if (shows('warn')) writeLine(io.stderr, `warning: ${message}`);
    },
    shows,
  };
}
