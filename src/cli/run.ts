import { Command, CommanderError, Option } from 'commander';
import { isSyncError } from '../errors.js';
import { VERSION } from '../version.js';
import { parseMilliseconds, parseProgressInterval, parseSeconds } from './duration.js';
import { addEmulatorCommand } from './emulator-command.js';
import { type CliIo, describeError, EXIT, type ExitCode, writeLine } from './io.js';
import { LOG_LEVELS } from './output.js';
import {
  collect,
  intInRange,
  maxDeleteOption,
  nonNegativeInt,
  parseDuration,
  positiveInt,
  rateOption,
  shardOption,
} from './parsers.js';

export { describeError } from './io.js';

// Each command's module (and its dependencies: the HTTP client, Redis, the emulator) is loaded only
// when that command runs, so a command starts without loading what it does not use.

/** The flags a user gave on the command line (not defaults): a plan file's options yield to none of them. */
function explicitFlags(cmd: Command): ReadonlySet<string> {
  const given = new Set<string>();
  for (const option of cmd.options) {
    const key = option.attributeName();
    if (cmd.getOptionValueSource(key) === 'cli') given.add(key);
  }
  return given;
}

/** `--log-level` and `--quiet`, for every command that talks to the service. */
/** `--progress-interval`: of apply's progress lines and of the read progress of apply, plan and verify. */
function progressInterval(): Option {
  return new Option(
    '--progress-interval <d>',
    'off a terminal: one JSON progress line per interval (50ms to 1d; on a terminal the bar redraws every 250ms)',
  )
    .default(10_000, '10s')
    .argParser(parseProgressInterval);
}

function outputOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--log-level <level>', 'the least severe log records and lines shown on stderr')
        .choices([...LOG_LEVELS])
        .default('info'),
    )
    .option('--quiet', 'no progress and no informational lines: warnings, errors and --json only');
}

function connectionOptions(cmd: Command): Command {
  return outputOptions(cmd)
    .option('--sdkappid <id>', 'SDKAppID (env TENCENT_SDKAPPID)')
    .option('--secret-key-file <file>', 'file holding the SecretKey (env TENCENT_SECRET_KEY)')
    .option('--admin <identifier>', 'app admin identifier (env TENCENT_ADMIN; default: administrator)')
    .option(
      '--region <region>',
      'china, singapore, seoul, tokyo, frankfurt, mumbai, silicon-valley, jakarta (env TENCENT_REGION)',
    )
    .option(
      '--endpoint <url>',
      'base URL, e.g. http://127.0.0.1:8080; plain http only to loopback (env TENCENT_ENDPOINT)',
    )
    .option(
      '--backup-domain',
      "use the region's documented backup domain from the start (env TENCENT_BACKUP_DOMAIN=1)",
    )
    .option(
      '--backup-endpoint <url>',
      'with --endpoint: where to switch when it keeps failing to connect (env TENCENT_BACKUP_ENDPOINT)',
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

  const mode = () =>
    new Option('--mode <mode>', 'merge: add what is missing; mirror: also remove what the CSV lacks')
      .choices(['merge', 'mirror'])
      .default('merge');
  const rate = () =>
    new Option('--rate <n>', 'calls per second per endpoint (at most 10000)')
      .default(200)
      .argParser(rateOption('--rate'));
  const groupNameLimit = () =>
    new Option(
      '--group-name-limit <bytes>',
      'reject rows whose GroupName is longer (32: the update page reading) (default: 64)',
    ).argParser(intInRange('--group-name-limit', 1, 64));
  const maxDelete = (what: string) =>
    new Option('--max-delete <N|P%>', `${what} (default: 10% of the memberships looked at)`).argParser(
      maxDeleteOption,
    );
  const concurrency = (what: string) =>
    new Option('--concurrency <n>', `${what} (default: 60)`).argParser(positiveInt('--concurrency'));
  const inputOptions = (cmd: Command) =>
    cmd
      .addOption(groupNameLimit())
      .option('--strict', 'fail on the first rejected row')
      .addOption(
        new Option(
          '--max-invalid <n>',
          'fail when more rows than this are rejected (default: no limit)',
        ).argParser(nonNegativeInt('--max-invalid')),
      )
      .addOption(
        new Option(
          '--shard <i/n>',
          'handle only users with hash(user) mod n = i (default: every user)',
        ).argParser(shardOption),
      );

  inputOptions(
    connectionOptions(program.command('plan'))
      .description('dry run: what would change, how many calls, how long; writes nothing to the service')
      .argument('<input.csv>', 'the CSV export; - reads standard input')
      .addOption(mode())
      .option('--assume-empty', 'do not read the app state (it is known to be empty)')
      .addOption(
        maxDelete(
          'mirror: warn when apply would refuse (exit 5 with --detailed-exitcode); recorded in --out',
        ),
      )
      .addOption(
        new Option(
          '--latency <ms>',
          'time of one call for the estimate, e.g. 80 or 80ms (default: the median of the reads; 0 with --assume-empty)',
        ).argParser(parseMilliseconds('--latency', 60_000)),
      )
      .addOption(concurrency('users in flight apply will use, for the estimate'))
      .option('--out <plan.ndjson>', 'write the plan for `cgsync apply <plan>`')
      .option('--report <file>', 'write a report (.html or .md); repeatable', collect, [])
      .option('--failures <file.csv>', 'write rejected rows and the rows of users that could not be read')
      .option(
        '--detailed-exitcode',
        "exit 2 when changes are pending, 0 when none, 5 when apply's deletion guard would refuse",
      )
      .option('--json', 'print the summary as JSON')
      .addOption(progressInterval())
      .addOption(
        new Option(
          '--threads <n>',
          'with --assume-empty: planning threads; 0: none (default: one per core, at most 4)',
        ).argParser(intInRange('--threads', 0, 64)),
      )
      .addOption(rate()),
  ).action(async (input: string, opts, cmd: Command) =>
    setExit(
      await (await import('./plan.js')).runPlanCommand(input, { ...opts, explicit: explicitFlags(cmd) }, io),
    ),
  );

  inputOptions(
    connectionOptions(program.command('apply'))
      .description('apply a CSV (or a plan file): rate-limited, retrying, resumable')
      .argument(
        '<input>',
        'the CSV export, or a plan file from `cgsync plan --out` (its options apply); - reads standard input',
      )
      .requiredOption('--checkpoint <file>', 'resumable checkpoint log (NDJSON)')
      .addOption(mode())
      .option('--assume-empty', 'do not read the app state (it is known to be empty): the fastest migration')
      .addOption(maxDelete('mirror: refuse (exit 5) when more memberships would be removed'))
      .option('--failures <file.csv>', 'write rejected and failed rows (a valid input for a re-run)')
      .option(
        '--backup <file.csv>',
        'mirror: append what each delete or removal takes away, before its call (apply it with --mode merge to put it back)',
      )
      .option('--state <file>', 'snapshot of applied users: unchanged users make no call next time')
      .option('--refresh', 'with --state: re-read every user (drift repair)')
      .option(
        '--stream',
        'merge: start calls while the CSV is still read, user by user when its rows are grouped by user (a bad row or byte late in the file then stops the run after writes)',
      )
      .option(
        '--replan-stale',
        'plan file: a user changed in the app since the plan is re-planned against what is read, not refused',
      )
      .addOption(rate())
      .addOption(concurrency('users in flight'))
      .addOption(
        new Option(
          '--max-duration <d>',
          'stop after this long (500ms, 30m, 5h, 1d), resumable; exit 3 (default: no limit)',
        ).argParser(parseDuration('--max-duration')),
      )
      .option('--redis <url>', 'share the per-endpoint budget with every process using this Redis')
      .option(
        '--metrics-file <file.prom>',
        "at the end, the run's metrics in Prometheus text format (node_exporter textfile collector)",
      )
      .option('--json', 'print a machine-readable summary on stdout')
      .addOption(progressInterval()),
  ).action(async (input: string, opts, cmd: Command) =>
    setExit(
      await (await import('./apply.js')).runApplyCommand(
        input,
        { ...opts, explicit: explicitFlags(cmd) },
        io,
      ),
    ),
  );

  connectionOptions(program.command('verify'))
    .description(
      'read the app back and compare with the CSV: exit 0 when equal, 2 on drift, 4 when users could not be read',
    )
    .argument('<input.csv>', 'the CSV export; - reads standard input')
    .addOption(mode())
    .addOption(rate())
    .addOption(
      new Option(
        '--shard <i/n>',
        'handle only users with hash(user) mod n = i (default: every user)',
      ).argParser(shardOption),
    )
    .addOption(groupNameLimit())
    .option('--json', 'print the result as JSON')
    .addOption(progressInterval())
    .action(async (input: string, opts) =>
      setExit(await (await import('./verify.js')).runVerifyCommand(input, opts, io)),
    );

  connectionOptions(program.command('export'))
    .description(
      "write the app's current groups of some users as a CSV in the input format (a backup: apply it to restore)",
    )
    .option('--input <csv>', 'export the users of this CSV (From_Account); - reads standard input')
    .option('--users <file>', 'export these users: one ID per line (# comments); - reads standard input')
    .requiredOption('--out <file.csv>', 'the CSV to write (whole or not at all, mode 0600)')
    .addOption(rate())
    .option('--json', 'print the result as JSON')
    .action(async (opts) => setExit(await (await import('./export.js')).runExportCommand(opts, io)));

  program
    .command('demo')
    .description('the migration job on a sample against a built-in emulator, no configuration (npm start)')
    .option('--input <csv>', 'CSV to migrate (default: the packaged samples/demo.csv)')
    .option('--dir <dir>', 'where the report, plan and checkpoint go', 'cgsync-demo')
    .action(async (opts) => setExit(await (await import('./demo.js')).runDemo(opts, io)));

  connectionOptions(program.command('usersig'))
    .description('print the admin UserSig (last line of stdout)')
    .addOption(
      new Option('--expire <seconds>', 'validity: seconds, or a duration such as 12h or 1d')
        .default(86_400)
        .argParser(parseSeconds('--expire', 10 * 365 * 86_400)),
    )
    .action(async (opts) => setExit(await (await import('./usersig.js')).runUsersig(opts, io)));

  addEmulatorCommand(program, io, setExit);

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
