import { isSyncError } from '../errors.js';
import { type CliIo, describeError, EXIT, type ExitCode, writeLine } from './io.js';

/**
 * A command's failure before it has a result of its own: an early error (the input, the lock, the
 * checkpoint, colliding paths) or a signal (SIGINT, SIGTERM, SIGHUP, `--max-duration`) in any phase.
 * With `json`, one JSON summary on stdout (`status` `fatal` or `interrupted`, `error`). An interrupt
 * is exit 3 with `interrupted` saying what to do; any other error is rethrown, for the one
 * `error: <cause>` line runCli ends with.
 */
export function reportThrown(
  err: unknown,
  io: CliIo,
  options: { readonly json?: boolean; readonly interrupted: string },
): ExitCode {
  const interrupted = isSyncError(err, 'INTERRUPTED');
  const code = interrupted ? EXIT.interrupted : EXIT.fatal;
  if (options.json === true) {
    writeLine(
      io.stdout,
      JSON.stringify({
        exitCode: code,
        status: interrupted ? 'interrupted' : 'fatal',
        error: describeError(err),
      }),
    );
  }
  if (!interrupted) throw err;
  writeLine(io.stderr, `interrupted (${describeError(err)}): ${options.interrupted}`);
  return code;
}
