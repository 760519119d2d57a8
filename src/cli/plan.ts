import { resolve } from 'node:path';
import type { Mode } from '../model.js';
import { renderText } from '../planner/report-text.js';
import type { Shard } from '../planner/shard.js';
import { runPlanJob } from '../sync/plan-job.js';
import type { ConnectionFlags } from './config.js';
import { boundedWarnings, type CliIo, EXIT, type ExitCode, writeLine } from './io.js';
import { checkPathCollisions, optionalPath, type RunPath } from './paths.js';
import { reportThrown } from './thrown.js';

export interface PlanArgs extends ConnectionFlags {
  mode: Mode;
  assumeEmpty?: boolean;
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

/** `cgsync plan`: what would change, how many calls, how long. Writes nothing to the service. */
export async function runPlanCommand(input: string, args: PlanArgs, io: CliIo): Promise<ExitCode> {
  let connection: { close(): Promise<void> } | undefined;
  try {
    await checkPathCollisions(planPaths(input, args), io.cwd);
    // Without reads there is no connection, and its modules (HTTP client, limiters, Redis) stay unloaded.
    const connected =
      args.assumeEmpty === true
        ? undefined
        : await (await import('./connect.js')).connect({ ...args, rate: args.rate }, io);
    connection = connected;
    const { summary, scan, failuresWritten } = await runPlanJob({
      input: resolve(io.cwd, input),
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
      onWarning: boundedWarnings((message) => writeLine(io.stderr, `warning: ${message}`)),
      ...(connected === undefined ? {} : { api: connected.api, scheduler: connected.scheduler }),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
      ...(io.onPhase === undefined ? {} : { onPhase: io.onPhase }),
    });
    if (args.json === true) {
      const rows = { total: scan.rows, rejected: scan.rejectedRows };
      writeLine(io.stdout, JSON.stringify({ ...summary, rows }));
    } else io.stdout.write(renderText(summary));
    if (args.out !== undefined) writeLine(io.stderr, `plan written to ${args.out}`);
    for (const r of args.report) writeLine(io.stderr, `report written to ${r}`);
    if (args.failures !== undefined && failuresWritten > 0) {
      writeLine(io.stderr, `failures written to ${args.failures} (${failuresWritten} rows)`);
    }
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
    await connection?.close();
  }
}
