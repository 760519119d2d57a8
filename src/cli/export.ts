import { resolve } from 'node:path';
import { SyncError } from '../errors.js';
import { readLines } from '../planner/line-file.js';
import { scanInput } from '../reader/scan-input.js';
import { type ExportJobResult, runExportJob } from '../sync/export-job.js';
import type { ConnectionFlags } from './config.js';
import { type Connection, connect } from './connect.js';
import { boundedWarnings, type CliIo, EXIT, type ExitCode, writeLine } from './io.js';
import { createOutput, type OutputFlags } from './output.js';
import { checkPathCollisions, optionalPath, type RunPath } from './paths.js';
import { type SpooledInput, spoolInput } from './stdin.js';
import { reportThrown } from './thrown.js';

export interface ExportArgs extends ConnectionFlags, OutputFlags {
  /** A CSV in the input format: its users (From_Account) are exported. */
  input?: string;
  /** A file of user IDs, one per line (blank lines and `#` comments skipped). */
  users?: string;
  out: string;
  rate: number;
  json?: boolean;
}

/** Every file an export reads or writes, for {@link checkPathCollisions}. */
export function exportPaths(args: ExportArgs): RunPath[] {
  return [
    ...optionalPath('--input', args.input, 'input'),
    ...optionalPath('--users', args.users, 'input'),
    ...optionalPath('--secret-key-file', args.secretKeyFile, 'input'),
    { flag: '--out', path: args.out, role: 'output' },
  ];
}

/** The user IDs of a list file: one per line, trimmed; blank lines and `#` comments skipped. */
async function* listedUsers(path: string): AsyncGenerator<string> {
  let first = true;
  for await (const raw of readLines(path)) {
    const line = (first ? raw.replace(/^\uFEFF/, '') : raw).trim();
    first = false;
    if (line !== '' && !line.startsWith('#')) yield line;
  }
}

/**
 * `cgsync export`: the app's current groups of the given users (`--users FILE` or the users of
 * `--input CSV`) as a CSV in the input format, written whole or not at all. Exit 0 when every user was
 * exported, 4 when some could not be read (reported; the rest exported), 3 when interrupted (no file).
 */
export async function runExportCommand(args: ExportArgs, io: CliIo): Promise<ExitCode> {
  const out = createOutput(io, args);
  let connection: Connection | undefined;
  let spooled: SpooledInput | undefined;
  try {
    if ((args.input === undefined) === (args.users === undefined)) {
      throw new SyncError('USAGE', 'give one of --input <csv> or --users <file>: the users to export');
    }
    await checkPathCollisions(exportPaths(args), io.cwd);
    spooled = await spoolInput((args.input ?? args.users) as string, io);
    const source = spooled.path;
    // The CSV is read (and validated) before the first call, as for plan and apply.
    const scan = args.input === undefined ? undefined : await scanInput(source, signalOf(io));
    try {
      connection = await connect(
        { ...args, rate: args.rate },
        io,
        (m) => out.warn(m),
        (m) => out.info(m),
      );
      const users: AsyncIterable<string> =
        scan === undefined
          ? listedUsers(source)
          : (async function* () {
              for await (const d of scan.users()) yield d.user;
            })();
      const result = await runExportJob({
        users,
        unique: scan !== undefined,
        out: resolve(io.cwd, args.out),
        api: connection.api,
        scheduler: connection.scheduler,
        onWarning: boundedWarnings((m) => out.warn(m)),
        ...signalOf(io),
        ...(io.onPhase === undefined ? {} : { onPhase: io.onPhase }),
      });
      const code = result.unreadable.count > 0 ? EXIT.partial : EXIT.ok;
      report(result, code, args, io, (m) => out.info(m));
      return code;
    } finally {
      await scan?.dispose();
    }
  } catch (err) {
    return reportThrown(err, io, {
      ...(args.json === undefined ? {} : { json: args.json }),
      interrupted: `no file was written (${args.out} appears only when complete) and nothing was changed; run the command again`,
    });
  } finally {
    await connection?.close();
    await spooled?.dispose();
  }
}

function signalOf(io: CliIo): { signal?: AbortSignal } {
  return io.signal === undefined ? {} : { signal: io.signal };
}

function report(
  result: ExportJobResult,
  code: ExitCode,
  args: ExportArgs,
  io: CliIo,
  info: (message: string) => void,
): void {
  const u = result.unreadable;
  if (u.count > 0) {
    writeLine(io.stderr, `users whose groups could not be read (not exported): ${u.count}`);
    for (const x of u.first)
      writeLine(io.stderr, `  ${JSON.stringify(x.user)}: ${String(x.errorCode)} ${x.message}`);
    if (u.count > u.first.length) writeLine(io.stderr, `  … and ${u.count - u.first.length} more`);
  }
  info(
    `exported ${result.exported} of ${result.users} users to ${args.out}: ${result.groups} groups, ${result.memberships} memberships, ${result.rows} rows`,
  );
  if (args.json === true) {
    writeLine(
      io.stdout,
      JSON.stringify({
        exitCode: code,
        status: code === EXIT.ok ? 'ok' : 'partial',
        users: result.users,
        exported: result.exported,
        groups: result.groups,
        memberships: result.memberships,
        rows: result.rows,
        unreadable: result.unreadable,
      }),
    );
  }
}
