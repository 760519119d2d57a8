import { resolve } from 'node:path';
import type { Mode } from '../model.js';
import { renderText } from '../planner/report-text.js';
import { runPlanJob } from '../sync/plan-job.js';
import type { Shard } from '../sync/shard.js';
import type { ConnectionFlags } from './config.js';
import { type CliIo, EXIT, type ExitCode, writeLine } from './io.js';

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
}

/** `cgsync plan`: what would change, how many calls, how long. Writes nothing to the service. */
export async function runPlanCommand(input: string, args: PlanArgs, io: CliIo): Promise<ExitCode> {
  // Without reads there is no connection, and its modules (HTTP client, limiters, Redis) stay unloaded.
  const connection =
    args.assumeEmpty === true
      ? undefined
      : await (await import('./connect.js')).connect({ ...args, rate: args.rate }, io);
  try {
    const { summary, scan } = await runPlanJob({
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
      ...(connection === undefined ? {} : { api: connection.api, scheduler: connection.scheduler }),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
    if (args.json === true) {
      const rows = { total: scan.rows, rejected: scan.rejectedRows };
      writeLine(io.stdout, JSON.stringify({ ...summary, rows }));
    } else io.stdout.write(renderText(summary));
    if (args.out !== undefined) writeLine(io.stderr, `plan written to ${args.out}`);
    for (const r of args.report) writeLine(io.stderr, `report written to ${r}`);
    const pending = summary.usersWithChanges > 0;
    return args.detailedExitcode === true && pending ? EXIT.changesOrDrift : EXIT.ok;
  } finally {
    await connection?.close();
  }
}
