import { type Command, Option } from 'commander';
import { parseMilliseconds } from './duration.js';
import type { CliIo, ExitCode } from './io.js';
import { faultMix, intInRange, positiveInt, probability } from './parsers.js';

/** `cgsync emulator` and its flags (one per field of `startEmulator`'s options). */
export function addEmulatorCommand(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
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
    .option('--admin <identifier>', 'app admin identifier (env TENCENT_ADMIN; default: administrator)')
    .addOption(
      new Option('--port <port>', 'port, 0 for any free one')
        .default(8080)
        .argParser(intInRange('--port', 0, 65_535)),
    )
    .option('--host <host>', 'interface to bind (loopback unless --allow-non-loopback)', '127.0.0.1')
    .option('--allow-non-loopback', 'allow binding a non-loopback host')
    .addOption(
      new Option('--latency <ms>', 'delay before answering: ms, or a duration such as 50ms')
        .default(0)
        .argParser(parseMilliseconds('--latency', 600_000)),
    )
    .addOption(
      new Option('--jitter <ms>', 'latency varies by ± this: ms, or a duration')
        .default(0)
        .argParser(parseMilliseconds('--jitter', 600_000)),
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
    .addOption(
      new Option('--applied-fault-rate <p>', 'probability that a call is applied, then answered 50004 or 502')
        .default(0)
        .argParser(probability('--applied-fault-rate')),
    )
    .addOption(
      new Option('--malformed-rate <p>', 'probability of an HTTP 200 answer that is not the documented shape')
        .default(0)
        .argParser(probability('--malformed-rate')),
    )
    .addOption(
      new Option(
        '--fault-mix <code:p,...>',
        'whole calls answered with these ErrorCodes, e.g. 51007:0.01',
      ).argParser(faultMix('--fault-mix')),
    )
    .addOption(
      new Option('--item-fault-rate <p>', 'probability of a transient ResultCode per item (half applied)')
        .default(0)
        .argParser(probability('--item-fault-rate')),
    )
    .addOption(
      new Option(
        '--item-fault-mix <code:p,...>',
        'items answered with these ResultCodes, not applied',
      ).argParser(faultMix('--item-fault-mix')),
    )
    .option('--items-one-by-one', 'apply the items of a call in order, checking 1000 after each')
    .addOption(
      new Option('--marked-per-user <n>', 'conversations per user that carry only a mark (count toward 1000)')
        .default(0)
        .argParser(intInRange('--marked-per-user', 0, 10_000)),
    )
    .option('--contact-item-required', 'refuse a create without ContactItem (50002)')
    .addOption(
      new Option(
        '--old-group-name-limit <bytes>',
        'longest OldGroupName of an update, 51011 past it (default: no limit of its own)',
      ).argParser(intInRange('--old-group-name-limit', 1, 1024)),
    )
    .option('--known-users <file>', 'only these UserIDs (one per line) are imported; others get 50001')
    .option('--state-file <file>', 'load state from and save it (atomically) to this JSON file')
    .action(async (opts) => setExit(await (await import('./emulator.js')).runEmulatorCommand(opts, io)));
}
