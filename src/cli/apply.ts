import { setMaxListeners } from 'node:events';
import { resolve } from 'node:path';
import { SyncError } from '../errors.js';
import { abortAfter, type DelayedAbort } from '../executor/clock.js';
import { lockPathFor } from '../executor/log/lock.js';
import type { RunResult } from '../executor/run-apply.js';
import { createLogger } from '../log.js';
import type { Mode } from '../model.js';
import type { Shard } from '../planner/shard.js';
import { type ApplyJobResult, runApplyJob } from '../sync/apply-job.js';
import type { MaxDelete } from '../sync/guard.js';
import type { ConnectionFlags } from './config.js';
import { type Connection, connect } from './connect.js';
import { boundedWarnings, type CliIo, describeError, EXIT, type ExitCode, writeLine } from './io.js';
import { checkPathCollisions, optionalPath, type RunPath } from './paths.js';
import { createProgress, formatSummary } from './progress.js';
import { reportThrown } from './thrown.js';

export interface ApplyArgs extends ConnectionFlags {
  checkpoint: string;
  mode: Mode;
  assumeEmpty?: boolean;
  maxDelete?: MaxDelete;
  failures?: string;
  state?: string;
  refresh?: boolean;
  replanStale?: boolean;
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
    result.rejectedRows > 0 ||
    result.staleUsers > 0 ||
    run.users.failed > 0 ||
    run.users.skipped > 0 ||
    run.operations.failed > 0;
  return partial ? EXIT.partial : EXIT.ok;
}

/** Every file an apply reads or writes, for {@link checkPathCollisions}. */
export function applyPaths(input: string, args: ApplyArgs): RunPath[] {
  return [
    { flag: 'the input', path: input, role: 'input' },
    ...optionalPath('--secret-key-file', args.secretKeyFile, 'input'),
    { flag: '--checkpoint', path: args.checkpoint, role: 'output' },
    { flag: "--checkpoint's lock", path: lockPathFor(args.checkpoint), role: 'output' },
    ...optionalPath('--failures', args.failures, 'output'),
    ...optionalPath('--state', args.state, 'output'),
  ];
}

/** `cgsync apply`: the migration and the nightly sync. */
export async function runApplyCommand(input: string, args: ApplyArgs, io: CliIo): Promise<ExitCode> {
  const logger = createLogger({ destination: io.stderr });
  let deadline: DelayedAbort | undefined;
  let connection: Connection | undefined;
  const warn = boundedWarnings((message) => logger.warn(message));
  let progress: ReturnType<typeof createProgress> | undefined;
  try {
    await checkPathCollisions(applyPaths(input, args), io.cwd);
    const signals: AbortSignal[] = [];
    if (io.signal !== undefined) signals.push(io.signal);
    if (args.maxDuration !== undefined) {
      const limit = args.maxDuration;
      deadline = abortAfter(
        limit,
        () => new SyncError('INTERRUPTED', `the --max-duration of ${Math.round(limit / 1000)} s was reached`),
      );
      signals.push(deadline.signal);
    }
    const signal = signals.length === 0 ? undefined : AbortSignal.any(signals);
    // Every waiting call listens to the run's signal: hundreds of listeners are expected.
    if (signal !== undefined) setMaxListeners(0, signal);
    connection = await connect({ ...args, rate: args.rate }, io, warn);
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
      ...(args.replanStale === undefined ? {} : { replanStale: args.replanStale }),
      ...(args.shard === undefined ? {} : { shard: args.shard }),
      ...(args.strict === undefined ? {} : { strict: args.strict }),
      ...(args.maxInvalid === undefined ? {} : { maxInvalid: args.maxInvalid }),
      ...(args.groupNameLimit === undefined ? {} : { groupNameLimit: args.groupNameLimit }),
      onWarning: warn,
      ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
      ...(signal === undefined ? {} : { signal }),
      ...(io.onPhase === undefined ? {} : { onPhase: io.onPhase }),
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
    // A signal that came during the last flush: everything is saved, but the run was asked to stop.
    const finished = applyExitCode(result);
    const code =
      (finished === EXIT.ok || finished === EXIT.partial) && signal?.aborted === true
        ? EXIT.interrupted
        : finished;
    reportResult(result, code, input, args, io, progress);
    return code;
  } catch (err) {
    return reportThrown(err, io, {
      ...(args.json === undefined ? {} : { json: args.json }),
      interrupted: `stopped before the first write, nothing was changed; run the same command again to resume from ${args.checkpoint}`,
    });
  } finally {
    deadline?.cancel();
    await connection?.close();
  }
}

function reportResult(
  result: ApplyJobResult,
  code: ExitCode,
  input: string,
  args: ApplyArgs,
  io: CliIo,
  progress: ReturnType<typeof createProgress> | undefined,
): void {
  const run = result.run;
  if (run !== undefined) {
    if (progress !== undefined) progress.finish(run);
    else io.stderr.write(formatSummary(run));
  }
  if (result.unchangedUsers > 0)
    writeLine(io.stderr, `unchanged since the last snapshot: ${result.unchangedUsers} users (no calls)`);
  if (result.rejectedRows > 0) writeLine(io.stderr, `rejected rows: ${result.rejectedRows}`);
  if (result.staleUsers > 0) {
    writeLine(
      io.stderr,
      `stale: ${result.staleUsers} users changed in the app since the plan was made; nothing was written for them (make a new plan, or apply with --replan-stale)`,
    );
  }
  if (result.replannedUsers > 0) {
    writeLine(
      io.stderr,
      `re-planned: ${result.replannedUsers} users had changed since the plan; only what was still missing was done`,
    );
  }
  if (args.failures !== undefined && result.failuresWritten > 0) {
    writeLine(
      io.stderr,
      `failures written to ${args.failures} (${result.failuresWritten} rows); it is a valid input for a re-run`,
    );
  }
  if (run !== undefined && finishedEarlier(run)) {
    writeLine(
      io.stderr,
      `nothing to do: the checkpoint ${args.checkpoint} says all ${run.users.alreadyDone} users were done by an earlier run, so no call was made and the app was not checked; \`cgsync verify ${input}\` reads the app back and compares it with the input`,
    );
  }
  if (code === EXIT.interrupted) {
    writeLine(io.stderr, `interrupted: run the same command again to resume from ${args.checkpoint}`);
  }
  if (args.json === true) writeLine(io.stdout, JSON.stringify(jsonSummary(result, code)));
  // Off a terminal the summary is a pino record: the cause also gets a plain last line.
  if (code === EXIT.fatal && run?.fatal !== undefined) {
    writeLine(io.stderr, `error: ${describeError(run.fatal)}`);
  }
}

/** A resumed run that found every user done: it made no call at all. */
function finishedEarlier(run: RunResult): boolean {
  const u = run.users;
  const calls = Object.values(run.endpoints).reduce((n, e) => n + e.calls, 0);
  return (
    !run.interrupted &&
    run.fatal === undefined &&
    u.alreadyDone > 0 &&
    u.done + u.failed + u.skipped + u.unfinished === 0 &&
    calls === 0
  );
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
          : exitCode === EXIT.interrupted
            ? 'interrupted'
            : exitCode === EXIT.partial
              ? 'partial'
              : 'ok',
    ...(run?.fatal === undefined ? {} : { error: describeError(run.fatal) }),
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
    users:
      run === undefined
        ? undefined
        : {
            ...run.users,
            unchanged: result.unchangedUsers,
            stale: result.staleUsers,
            replanned: result.replannedUsers,
          },
    operations: run?.operations,
    endpoints: run?.endpoints,
    failedItems: run?.failedItemsTotal ?? 0,
    failuresWritten: result.failuresWritten,
    stateSaved: result.stateSaved,
    durationMs: run?.durationMs,
  };
}
