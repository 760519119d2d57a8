import { resolve } from 'node:path';
import type { Mode } from '../model.js';
import type { Shard } from '../sync/shard.js';
import { formatDrift, runVerifyJob } from '../sync/verify-job.js';
import type { ConnectionFlags } from './config.js';
import { connect } from './connect.js';
import { boundedWarnings, type CliIo, EXIT, type ExitCode, writeLine } from './io.js';

export interface VerifyArgs extends ConnectionFlags {
  mode: Mode;
  rate: number;
  shard?: Shard;
  json?: boolean;
  groupNameLimit?: number;
}

/**
 * `cgsync verify`: 0 when the app matches the CSV, 2 on drift, 4 when there is no drift but some
 * users could not be read (not imported: 50001, …) and so were not compared.
 */
export async function runVerifyCommand(input: string, args: VerifyArgs, io: CliIo): Promise<ExitCode> {
  const connection = await connect({ ...args, rate: args.rate }, io);
  try {
    const result = await runVerifyJob({
      input: resolve(io.cwd, input),
      mode: args.mode,
      api: connection.api,
      scheduler: connection.scheduler,
      ...(args.shard === undefined ? {} : { shard: args.shard }),
      ...(args.groupNameLimit === undefined ? {} : { groupNameLimit: args.groupNameLimit }),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
      onWarning: boundedWarnings((message) => writeLine(io.stderr, `warning: ${message}`)),
    });
    if (args.json === true) writeLine(io.stdout, JSON.stringify(result));
    else io.stdout.write(formatDrift(result));
    if (result.rejectedRows > 0) writeLine(io.stderr, `rejected rows (not compared): ${result.rejectedRows}`);
    if (result.usersWithDrift > 0) return EXIT.changesOrDrift;
    return result.usersUnreadable > 0 ? EXIT.partial : EXIT.ok;
  } finally {
    await connection.close();
  }
}
