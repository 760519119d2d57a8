import { setMaxListeners } from 'node:events';
import { resolve } from 'node:path';
import { isSyncError, SyncError } from '../errors.js';
import { abortAfter, type DelayedAbort } from '../executor/clock.js';
import { lockPathFor } from '../executor/log/lock.js';
import type { RunResult } from '../executor/run-apply.js';
import type { Mode } from '../model.js';
import type { Shard } from '../planner/shard.js';
import { type ApplyJobResult, runApplyJob } from '../sync/apply-job.js';
import { type ApplyStatus, applyStatus, applySummary } from '../sync/apply-summary.js';
import type { MaxDelete } from '../sync/guard.js';
import { lastInputPathFor } from '../sync/last-input.js';
import { markerPathFor } from '../sync/state-marker.js';
import type { ConnectionFlags } from './config.js';
import { type Connection, connect } from './connect.js';
import { boundedWarnings, type CliIo, describeError, EXIT, type ExitCode, writeLine } from './io.js';
import { writeMetricsFile } from './metrics.js';
import { createOutput, type Output, type OutputFlags } from './output.js';
import { checkPathCollisions, optionalPath, type RunPath } from './paths.js';
import { bindPlanOptions, checkPlanTarget, readPlanHeaderIfAny } from './plan-binding.js';
import { createProgress, formatSummary, readProgressHook } from './progress.js';
import { type SpooledInput, spoolInput } from './stdin.js';
import { reportThrown } from './thrown.js';

export interface ApplyArgs extends ConnectionFlags, OutputFlags {
  checkpoint: string;
  mode: Mode;
  assumeEmpty?: boolean;
  maxDelete?: MaxDelete;
  failures?: string;
  backup?: string;
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
  stream?: boolean;
  json?: boolean;
  groupNameLimit?: number;
  metricsFile?: string;
  /** Interval of the JSON progress lines off a terminal (ms). @default 10000 */
  progressInterval?: number;
  /**
   * The flags given on the command line (attribute names): a plan file's options yield to none of them.
   * @default every option present in the arguments
   */
  explicit?: ReadonlySet<string>;
}

/** The exit code of each way an apply ends, per the contract in the README. */
const EXIT_OF: Readonly<Record<ApplyStatus, ExitCode>> = {
  ok: EXIT.ok,
  partial: EXIT.partial,
  interrupted: EXIT.interrupted,
  refused: EXIT.refused,
  fatal: EXIT.fatal,
};

/** The exit code of an apply, per the contract in the README. */
export function applyExitCode(result: ApplyJobResult, stopped = false): ExitCode {
  return EXIT_OF[applyStatus(result, stopped)];
}

/** Every file an apply reads or writes, for {@link checkPathCollisions}. */
export function applyPaths(input: string, args: ApplyArgs): RunPath[] {
  return [
    { flag: 'the input', path: input, role: 'input' },
    ...optionalPath('--secret-key-file', args.secretKeyFile, 'input'),
    { flag: '--checkpoint', path: args.checkpoint, role: 'output' },
    { flag: "--checkpoint's lock", path: lockPathFor(args.checkpoint), role: 'output' },
    ...optionalPath('--failures', args.failures, 'output'),
    ...optionalPath('--backup', args.backup, 'output'),
    ...optionalPath('--state', args.state, 'output'),
    ...(args.state === undefined
      ? []
      : [
          { flag: "--state's lock", path: lockPathFor(args.state), role: 'output' as const },
          {
            flag: "--state's mark of a run not saved",
            path: markerPathFor(args.state),
            role: 'output' as const,
          },
          {
            flag: "--state's record of its last input",
            path: lastInputPathFor(args.state),
            role: 'output' as const,
          },
        ]),
    ...optionalPath('--metrics-file', args.metricsFile, 'output'),
  ];
}

/**
 * `cgsync apply`: the migration and the nightly sync. The input may be `-` (standard input, copied to
 * a private file first). A plan file brings its own options (a flag given that says otherwise is
 * refused) and its target (another app or host is refused), before any call. The target is printed
 * before the first call; `--metrics-file` is written at the end of every run, however it ends.
 */
export async function runApplyCommand(input: string, args: ApplyArgs, io: CliIo): Promise<ExitCode> {
  const started = performance.now();
  const out = createOutput(io, args);
  const logger = out.logger;
  let deadline: DelayedAbort | undefined;
  let connection: Connection | undefined;
  let spooled: SpooledInput | undefined;
  let result: ApplyJobResult | undefined;
  let exitCode: ExitCode = EXIT.fatal;
  // The metrics file is written only once it is known not to name another file of the run.
  let metricsFile: string | undefined;
  const warn = boundedWarnings((message) => logger.warn(message));
  let progress: ReturnType<typeof createProgress> | undefined;
  const display = {
    stream: io.stderr,
    logger,
    ...(args.progressInterval === undefined ? {} : { intervalMs: args.progressInterval }),
  };
  const reading = readProgressHook('reading the app', !out.quiet, display);
  try {
    await checkPathCollisions(applyPaths(input, args), io.cwd);
    metricsFile = args.metricsFile === undefined ? undefined : resolve(io.cwd, args.metricsFile);
    spooled = await spoolInput(input, io);
    const header = await readPlanHeaderIfAny(spooled.path);
    const explicit = args.explicit ?? new Set(Object.keys(args));
    const bound = header === undefined ? args : bindPlanOptions(header, args, explicit, spooled.label);
    if (args.backup !== undefined && bound.mode !== 'mirror') {
      throw new SyncError(
        'USAGE',
        `--backup is for --mode mirror: a ${bound.mode} never removes anything, so there is nothing to back up; nothing was written and no call was made`,
      );
    }
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
    connection = await connect({ ...args, rate: args.rate }, io, warn, (m) => out.info(m));
    if (header !== undefined) checkPlanTarget(header, connection.target, spooled.label, warn);
    result = await runApplyJob({
      input: spooled.path,
      checkpoint: resolve(io.cwd, args.checkpoint),
      target: connection.target,
      mode: bound.mode,
      assumeEmpty: bound.assumeEmpty === true,
      api: connection.api,
      scheduler: connection.scheduler,
      ...(bound.maxDelete === undefined ? {} : { maxDelete: bound.maxDelete }),
      ...(args.failures === undefined ? {} : { failures: resolve(io.cwd, args.failures) }),
      ...(args.backup === undefined ? {} : { backup: resolve(io.cwd, args.backup) }),
      ...(args.state === undefined ? {} : { state: resolve(io.cwd, args.state) }),
      ...(args.refresh === undefined ? {} : { refresh: args.refresh }),
      ...(args.replanStale === undefined ? {} : { replanStale: args.replanStale }),
      ...(bound.shard === undefined ? {} : { shard: bound.shard }),
      ...(args.strict === undefined ? {} : { strict: args.strict }),
      ...(args.stream === undefined ? {} : { stream: args.stream }),
      ...(args.maxInvalid === undefined ? {} : { maxInvalid: args.maxInvalid }),
      ...(bound.groupNameLimit === undefined ? {} : { groupNameLimit: bound.groupNameLimit }),
      onWarning: warn,
      onInfo: (message) => out.info(message),
      ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
      ...(signal === undefined ? {} : { signal }),
      ...(io.onPhase === undefined ? {} : { onPhase: io.onPhase }),
      onGuard: (verdict) => (verdict.ok ? out.info(verdict.message) : writeLine(io.stderr, verdict.message)),
      // Mirror's read phase (merge reads as it writes: its progress is the writes').
      onReadProgress: reading.onReadProgress,
      onPlanned: (summary, totals) => {
        reading.stop();
        if (out.quiet) return undefined;
        progress = createProgress({
          ...display,
          totals: {
            ...(summary === undefined ? {} : { ops: totalOps(summary.calls) }),
            ...(totals?.users === undefined ? {} : { users: totals.users }),
          },
        });
        return progress;
      },
    });
    // A signal that came during the last flush: everything is saved, but the run was asked to stop.
    exitCode = applyExitCode(result, signal?.aborted === true);
    reportResult(result, exitCode, input, args, io, progress, out);
    return exitCode;
  } catch (err) {
    exitCode = isSyncError(err, 'INTERRUPTED') ? EXIT.interrupted : EXIT.fatal;
    return reportThrown(err, io, {
      ...(args.json === undefined ? {} : { json: args.json }),
      interrupted: `stopped before the first write, nothing was changed; run the same command again to resume from ${args.checkpoint}`,
    });
  } finally {
    reading.stop();
    deadline?.cancel();
    const endpoints = connection?.scheduler.stats.snapshot();
    await connection?.close();
    await spooled?.dispose();
    if (metricsFile !== undefined) {
      await writeMetricsFile(metricsFile, {
        command: 'apply',
        exitCode,
        durationMs: performance.now() - started,
        endedAt: new Date(),
        ...(endpoints === undefined ? {} : { endpoints }),
        ...(result === undefined ? {} : { users: usersByOutcome(result) }),
      }).catch((err: unknown) =>
        writeLine(
          io.stderr,
          `warning: cannot write the metrics file ${args.metricsFile}: ${describeError(err)}`,
        ),
      );
    }
  }
}

/** Users by outcome, for the metrics file. */
function usersByOutcome(result: ApplyJobResult): Record<string, number> {
  const u = result.run?.users;
  return {
    done: u?.done ?? 0,
    failed: u?.failed ?? 0,
    skipped: u?.skipped ?? 0,
    already_done: u?.alreadyDone ?? 0,
    unfinished: u?.unfinished ?? 0,
    unchanged: result.unchangedUsers,
    stale: result.staleUsers,
  };
}

function reportResult(
  result: ApplyJobResult,
  code: ExitCode,
  input: string,
  args: ApplyArgs,
  io: CliIo,
  progress: ReturnType<typeof createProgress> | undefined,
  out: Output,
): void {
  const run = result.run;
  if (run !== undefined && !out.quiet) {
    if (progress !== undefined) progress.finish(run);
    else if (out.shows('info')) io.stderr.write(formatSummary(run));
  }
  if (result.unchangedUsers > 0)
    out.info(`unchanged since the last snapshot: ${result.unchangedUsers} users (no calls)`);
  if (result.rejectedRows > 0) out.warn(`rejected rows: ${result.rejectedRows}`);
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
    out.info(
      `failures written to ${args.failures} (${result.failuresWritten} rows); it is a valid input for a re-run`,
    );
  }
  if (run !== undefined && finishedEarlier(run)) {
    out.info(
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
  const status = (Object.keys(EXIT_OF) as ApplyStatus[]).find((s) => EXIT_OF[s] === exitCode) ?? 'fatal';
  return { exitCode, ...applySummary(result, status) };
}
