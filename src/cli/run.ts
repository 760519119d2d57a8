import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isSyncError, SyncError } from '../errors.js';
import { redactSecrets } from '../log.js';
import { VERSION } from '../version.js';
import { runEmulatorCommand } from './emulator.js';
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

  program
    .command('emulator')
    .description(
      'run a local Tencent Cloud Chat emulator (conversation-group endpoints) until SIGINT/SIGTERM',
    )
    .option('--sdkappid <id>', 'SDKAppID it serves (env TENCENT_SDKAPPID)')
    .option(
      '--secret-key-file <file>',
      'file holding the SecretKey it verifies UserSigs with (env TENCENT_SECRET_KEY)',
    )
    .option('--admin <identifier>', 'app admin identifier (env TENCENT_ADMIN)')
    .addOption(
      new Option('--port <port>', 'port, 0 for any free one')
        .default(8080)
        .argParser(intInRange('--port', 0, 65_535)),
    )
    .option('--host <host>', 'interface to bind (loopback unless --allow-non-loopback)', '127.0.0.1')
    .option('--allow-non-loopback', 'allow binding a non-loopback host')
    .addOption(
      new Option('--latency <ms>', 'delay before answering').default(0).argParser(nonNegative('--latency')),
    )
    .addOption(
      new Option('--jitter <ms>', 'latency varies by ± this').default(0).argParser(nonNegative('--jitter')),
    )
    .addOption(
      new Option('--fault-rate <p>', 'probability of a transient 50004/50005')
        .default(0)
        .argParser(probability('--fault-rate')),
    )
    .addOption(
      new Option('--lost-rate <p>', 'probability that a change is applied and its answer lost')
        .default(0)
        .argParser(probability('--lost-rate')),
    )
    .addOption(
      new Option('--http502-rate <p>', 'probability of an HTTP 502')
        .default(0)
        .argParser(probability('--http502-rate')),
    )
    .addOption(
      new Option('--rate-limit <n>', 'accepted calls per endpoint in any 1 s window')
        .default(200)
        .argParser(positiveInt('--rate-limit')),
    )
    .addOption(
      new Option('--page-size <n>', 'conversations per get_contact_group page')
        .default(100)
        .argParser(positiveInt('--page-size')),
    )
    .addOption(
      new Option('--duplicate-names <mode>', 'creating a name that exists')
        .choices(['reject', 'allow'])
        .default('reject'),
    )
    .addOption(
      new Option('--existing-member <mode>', 're-adding a member / removing a non-member')
        .choices(['ok', 'error'])
        .default('ok'),
    )
    .addOption(
      new Option('--seed <n>', 'seed of the fault sequence')
        .default(1)
        .argParser(intInRange('--seed', 0, 0xffff_ffff)),
    )
    .option('--known-users <file>', 'only these UserIDs (one per line) are imported; others get 50001')
    .option('--state-file <file>', 'load state from and save it (atomically) to this JSON file')
    .action(async (opts) => setExit(await runEmulatorCommand(opts, io)));

  return program;
}

function intInRange(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(
        `Expected ${name} to be a whole number from ${min} to ${max}, got "${value}"`,
      );
    }
    return n;
  };
}

function nonNegative(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
      throw new InvalidArgumentError(`Expected ${name} to be a number >= 0, got "${value}"`);
    }
    return n;
  };
}

function probability(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !(n >= 0 && n <= 1)) {
      throw new InvalidArgumentError(`Expected ${name} to be a probability from 0 to 1, got "${value}"`);
    }
    return n;
  };
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
