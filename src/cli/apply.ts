import { setMaxListeners } from 'node:events';
import { resolve } from 'node:path';
import { createProgress, formatSummary } from '../executor/progress.js';
import { createLogger } from '../log.js';
import type { Mode } from '../model.js';
import { type ApplyJobResult, runApplyJob } from '../sync/apply-job.js';
import type { MaxDelete } from '../sync/guard.js';
import type { Shard } from '../sync/shard.js';
import type { ConnectionFlags } from './config.js';
import { connect } from './connect.js';
import { boundedWarnings, type CliIo, EXIT, type ExitCode, writeLine } from './io.js';

export interface ApplyArgs extends ConnectionFlags {
  checkpoint: string;
  mode: Mode;
  assumeEmpty?: boolean;
  maxDelete?: MaxDelete;
  failures?: string;
  state?: string;
  refresh?: boolean;
  rate: number;
  concurrency?: number;
  maxDuration?: number;
  redis?: string;
  shard?: Shard;
  strict?: boolean;
  maxInvalid?: number;
  json?: boolean;
  groupNameLimit?: number;
}

/** The exit code of an apply, per the contract in the README. */
export function applyExitCode(result: ApplyJobResult): ExitCode {
  const run = result.run;
  if (result.refused !== undefined || run === undefined || run.fatal !== undefined) return EXIT.fatal;
  if (run.interrupted) return EXIT.interrupted;
  const partial =
    result.rejectedRows > 0 || run.users.failed > 0 || run.users.skipped > 0 || run.operations.failed > 0;
  return partial ? EXIT.partial : EXIT.ok;
}

/** `cgsync apply`: the migration and the nightly sync. */
export async function runApplyCommand(input: string, args: ApplyArgs, io: CliIo): Promise<ExitCode> {
  const signals: AbortSignal[] = [];
  if (io.signal !== undefined) signals.push(io.signal);
  if (args.maxDuration !== undefined) signals.push(AbortSignal.timeout(args.maxDuration));
  const signal = signals.length === 0 ? undefined : AbortSignal.any(signals);
  // Every waiting call listens to the run's signal: hundreds of listeners are expected.
  if (signal !== undefined) setMaxListeners(0, signal);
  const logger = createLogger({ destination: io.stderr });
  const warn = boundedWarnings((message) => logger.warn(message));
  const connection = await connect({ ...args, rate: args.rate }, io, warn);
  let progress: ReturnType<typeof createProgress> | undefined;
  try {
    const result = await runApplyJob({
      input: resolve(io.cwd, input),
      checkpoint: resolve(io.cwd, args.checkpoint),
      mode: args.mode,
      assumeEmpty: args.assumeEmpty === true,
      api: connection.api,
      scheduler: connection.scheduler,
      ...(args.maxDelete === undefined ? {} : { maxDelete: args.maxDelete }),
      ...(args.failures === undefined ? {} : { failures: resolve(io.cwd, args.failures) }),
      ...(args.state === undefined ? {} : { state: resolve(io.cwd, args.state) }),
      ...(args.refresh === undefined ? {} : { refresh: args.refresh }),
      ...(args.shard === undefined ? {} : { shard: args.shard }),
      ...(args.strict === undefined ? {} : { strict: args.strict }),
      ...(args.maxInvalid === undefined ? {} : { maxInvalid: args.maxInvalid }),
      ...(args.groupNameLimit === undefined ? {} : { groupNameLimit: args.groupNameLimit }),
      onWarning: warn,
      ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
      ...(signal === undefined ? {} : { signal }),
      onGuard: (verdict) => writeLine(io.stderr, verdict.message),
      onPlanned: (summary) => {
        progress = createProgress({
          stream: io.stderr,
          logger,
          ...(summary === undefined ? {} : { totalOps: totalOps(summary.calls) }),
        });
        return progress;
      },
    });
    const code = applyExitCode(result);
    if (result.run !== undefined) {
      if (progress !== undefined) progress.finish(result.run);
      else io.stderr.write(formatSummary(result.run));
    }
    if (result.unchangedUsers > 0)
      writeLine(io.stderr, `unchanged since the last snapshot: ${result.unchangedUsers} users (no calls)`);
    if (result.rejectedRows > 0) writeLine(io.stderr, `rejected rows: ${result.rejectedRows}`);
    if (args.failures !== undefined && result.failuresWritten > 0) {
      writeLine(
        io.stderr,
        `failures written to ${args.failures} (${result.failuresWritten} rows); it is a valid input for a re-run`,
      );
    }
    if (code === EXIT.interrupted) {
      writeLine(io.stderr, `interrupted: run the same command again to resume from ${args.checkpoint}`);
    }
    if (args.json === true) writeLine(io.stdout, JSON.stringify(jsonSummary(result, code)));
    return code;
  } finally {
    await connection.close();
  }
}

function totalOps(calls: Readonly<Record<string, number>>): number {
  return (
    (calls.create_contact_group ?? 0) + (calls.update_contact_group ?? 0) + (calls.del_contact_group ?? 0)
  );
}

/** The machine-readable summary (`--json`), one line on stdout. Documented in the README. */
export function jsonSummary(result: ApplyJobResult, exitCode: ExitCode): Record<string, unknown> {
  const run = result.run;
  return {
    exitCode,
    status:
      result.refused !== undefined
        ? 'refused'
        : run === undefined || run.fatal !== undefined
          ? 'fatal'
          : run.interrupted
            ? 'interrupted'
            : exitCode === EXIT.partial
              ? 'partial'
              : 'ok',
    ...(run?.fatal === undefined ? {} : { error: run.fatal.message }),
    ...(result.guard === undefined
      ? {}
      : {
          guard: {
            ok: result.guard.ok,
            removed: result.guard.removed,
            examined: result.guard.examined,
            allowed: result.guard.allowed,
          },
        }),
    rows: result.scan === undefined ? undefined : { total: result.scan.rows, rejected: result.rejectedRows },
    users: run === undefined ? undefined : { ...run.users, unchanged: result.unchangedUsers },
    operations: run?.operations,
    endpoints: run?.endpoints,
    failedItems: run?.failedItemsTotal ?? 0,
    failuresWritten: result.failuresWritten,
    stateSaved: result.stateSaved,
    durationMs: run?.durationMs,
  };
}
