import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isSyncError, SyncError } from '../errors.js';
import { redactSecrets } from '../log.js';
import { VERSION } from '../version.js';
import { type CliIo, EXIT, type ExitCode, writeLine } from './io.js';
import { runUsersig } from './usersig.js';

/** Parses a positive integer option with a message that says what was expected and what was given. */
export function positiveInt(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) {
      throw new InvalidArgumentError(`Expected ${name} to be a whole number from 1 and up, got "${value}"`);
    }
    return n;
  };
}

function connectionOptions(cmd: Command): Command {
  return cmd
    .option('--sdkappid <id>', 'SDKAppID (env TENCENT_SDKAPPID)')
    .option('--secret-key-file <file>', 'file holding the SecretKey (env TENCENT_SECRET_KEY)')
    .option('--admin <identifier>', 'app admin identifier (env TENCENT_ADMIN)', undefined)
    .option(
      '--region <region>',
      'china, singapore, seoul, tokyo, frankfurt, mumbai, silicon-valley, jakarta (env TENCENT_REGION)',
    )
    .option(
      '--endpoint <url>',
      'base URL, e.g. http://127.0.0.1:8080; plain http only to loopback (env TENCENT_ENDPOINT)',
    );
}

/** Builds the program. Every action stores its exit code through `setExit`. */
function buildProgram(io: CliIo, setExit: (code: ExitCode) => void): Command {
  const program = new Command('cgsync')
    .description('Migrate and sync Tencent Cloud Chat conversation groups from CSV')
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError('(run cgsync --help for usage)');

  connectionOptions(program.command('usersig'))
    .description('print the admin UserSig (last line of stdout)')
    .addOption(
      new Option('--expire <seconds>', 'validity in seconds')
        .default(86_400)
        .argParser(positiveInt('--expire')),
    )
    .action(async (opts) => setExit(await runUsersig(opts, io)));

  return program;
}

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code. The only place that
 * turns errors into exit codes; never calls process.exit.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with a CommanderError of exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.fatal;
    }
    writeLine(io.stderr, `error: ${describeError(err)}`);
    return isSyncError(err, 'INTERRUPTED') ? EXIT.interrupted : EXIT.fatal;
  }
}

export function describeError(err: unknown): string {
  if (err instanceof SyncError) return redactSecrets(err.message);
  if (err instanceof Error) return redactSecrets(`unexpected error: ${err.message}`);
  return redactSecrets(`unexpected error: ${String(err)}`);
}
