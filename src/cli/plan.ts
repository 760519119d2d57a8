import { resolve } from 'node:path';
import type { Mode } from '../model.js';
import { renderText } from '../planner/report-text.js';
import type { Shard } from '../planner/shard.js';
import type { GuardVerdict, MaxDelete } from '../sync/guard.js';
import { planStamp } from '../sync/plan-binding.js';
import { runPlanJob } from '../sync/plan-job.js';
import { type ConnectionFlags, peekTarget, type Target } from './config.js';
import { boundedWarnings, type CliIo, EXIT, type ExitCode, writeLine } from './io.js';
import { createOutput, type OutputFlags } from './output.js';
import { checkPathCollisions, optionalPath, type RunPath } from './paths.js';
import { madeAt } from './plan-binding.js';
import { readProgressHook } from './progress.js';
import { spoolInput } from './stdin.js';
import { reportThrown } from './thrown.js';

export interface PlanArgs extends ConnectionFlags, OutputFlags {
  mode: Mode;
  assumeEmpty?: boolean;
  /** Interval of the JSON progress lines off a terminal (ms). @default 10000 */
  progressInterval?: number;
  out?: string;
  report: string[];
  detailedExitcode?: boolean;
  rate: number;
  shard?: Shard;
  strict?: boolean;
  maxInvalid?: number;
  json?: boolean;
  threads?: number;
  failures?: string;
  groupNameLimit?: number;
  maxDelete?: MaxDelete;
  /** Time of one call for the estimate, ms; measured from the reads when absent. */
  latency?: number;
  concurrency?: number;
}

/** Every file a plan reads or writes, for {@link checkPathCollisions}. */
export function planPaths(input: string, args: PlanArgs): RunPath[] {
  return [
    { flag: 'the input', path: input, role: 'input' },
    ...optionalPath('--secret-key-file', args.secretKeyFile, 'input'),
    ...optionalPath('--out', args.out, 'output'),
    ...optionalPath('--failures', args.failures, 'output'),
    ...args.report.map((path) => ({ flag: '--report', path, role: 'output' as const })),
  ];
}

/**
 * `cgsync plan`: what would change, how many calls, how long. Writes nothing to the service. In mirror
 * mode it also decides apply's deletion guard: over `--max-delete` it warns, and with
 * `--detailed-exitcode` exits 5 as apply would.
 */
export async function runPlanCommand(input: string, args: PlanArgs, io: CliIo): Promise<ExitCode> {
  const out = createOutput(io, args);
  let connection: { close(): Promise<void> } | undefined;
  let spooled: Awaited<ReturnType<typeof spoolInput>> | undefined;
  const reading = readProgressHook('reading the app', !out.quiet, {
    stream: io.stderr,
    logger: out.logger,
    ...(args.progressInterval === undefined ? {} : { intervalMs: args.progressInterval }),
  });
  try {
    await checkPathCollisions(planPaths(input, args), io.cwd);
    spooled = await spoolInput(input, io);
    // Without reads there is no connection, and its modules (HTTP client, limiters, Redis) stay unloaded.
    const connected =
      args.assumeEmpty === true
        ? undefined
        : await (await import('./connect.js')).connect(
            { ...args, rate: args.rate },
            io,
            (m) => out.warn(m),
            (m) => out.info(m),
          );
    connection = connected;
    const target: Target | undefined = connected?.target ?? peekTarget(args, io.env);
    const at = madeAt(io.env);
    const { summary, scan, failuresWritten, guard } = await runPlanJob({
      input: spooled.path,
      mode: args.mode,
      assumeEmpty: args.assumeEmpty === true,
      reports: args.report.map((r) => resolve(io.cwd, r)),
      rate: args.rate,
      ...(args.out === undefined ? {} : { out: resolve(io.cwd, args.out) }),
      ...(args.shard === undefined ? {} : { shard: args.shard }),
      ...(args.strict === undefined ? {} : { strict: args.strict }),
      ...(args.maxInvalid === undefined ? {} : { maxInvalid: args.maxInvalid }),
      ...(args.threads === undefined ? {} : { threads: args.threads }),
      ...(args.failures === undefined ? {} : { failures: resolve(io.cwd, args.failures) }),
      ...(args.groupNameLimit === undefined ? {} : { groupNameLimit: args.groupNameLimit }),
      ...(args.maxDelete === undefined ? {} : { maxDelete: args.maxDelete }),
      ...(args.latency === undefined ? {} : { latencyMs: args.latency }),
      ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
      ...planStamp(spooled.label, at, target),
      onWarning: boundedWarnings((message) => out.warn(message)),
      ...(connected === undefined ? {} : { api: connected.api, scheduler: connected.scheduler }),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
      ...(io.onPhase === undefined ? {} : { onPhase: io.onPhase }),
      onReadProgress: reading.onReadProgress,
    });
    reading.stop();
    if (args.json === true) {
      const rows = { total: scan.rows, rejected: scan.rejectedRows };
      writeLine(io.stdout, JSON.stringify({ ...summary, rows, ...(guard === undefined ? {} : { guard }) }));
    } else io.stdout.write(renderText(summary));
    if (args.out !== undefined) out.info(`plan written to ${args.out}`);
    for (const r of args.report) out.info(`report written to ${r}`);
    if (args.failures !== undefined && failuresWritten > 0) {
      out.info(`failures written to ${args.failures} (${failuresWritten} rows)`);
    }
    if (guard !== undefined) {
      if (guard.ok) out.info(guardLine(guard));
      else out.warn(guardLine(guard));
    }
    // apply would refuse this plan before any write: a person should look.
    if (guard?.ok === false && args.detailedExitcode === true) return EXIT.refused;
    // Users that could not be read are not planned: the plan is incomplete, whatever else it says.
    if (summary.unreadable !== undefined) return EXIT.partial;
    const pending = summary.usersWithChanges > 0;
    return args.detailedExitcode === true && pending ? EXIT.changesOrDrift : EXIT.ok;
  } catch (err) {
    return reportThrown(err, io, {
      ...(args.json === undefined ? {} : { json: args.json }),
      interrupted:
        'no plan or report was written (they appear only when complete) and nothing was sent to the service; run the command again',
    });
  } finally {
    reading.stop();
    await connection?.close();
    await spooled?.dispose();
  }
}

/** The guard's verdict as apply would see it, for a plan. */
function guardLine(guard: GuardVerdict): string {
  const share = guard.examined === 0 ? 0 : (guard.removed / guard.examined) * 100;
  const what = `${guard.removed} of ${guard.examined} memberships (${share.toFixed(1)}%), ${guard.allowed} allowed`;
  return guard.ok
    ? `deletion guard: apply would pass this plan: it removes ${what}`
    : `deletion guard: apply would refuse this plan (exit 5) before any write: it removes ${what} by --max-delete; check the export, or raise --max-delete if this is intended`;
}
