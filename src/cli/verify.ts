import { resolve } from 'node:path';
import type { Mode } from '../model.js';
import type { Shard } from '../sync/shard.js';
import { formatDrift, runVerifyJob } from '../sync/verify-job.js';
import type { ConnectionFlags } from './config.js';
import { connect } from './connect.js';
import { type CliIo, EXIT, type ExitCode, writeLine } from './io.js';

export interface VerifyArgs extends ConnectionFlags {
  mode: Mode;
  rate: number;
  shard?: Shard;
  json?: boolean;
}

/** `cgsync verify`: 0 when the app matches the CSV, 2 on drift. */
export async function runVerifyCommand(input: string, args: VerifyArgs, io: CliIo): Promise<ExitCode> {
  const connection = await connect({ ...args, rate: args.rate }, io);
  try {
    const result = await runVerifyJob({
      input: resolve(io.cwd, input),
      mode: args.mode,
      api: connection.api,
      scheduler: connection.scheduler,
      ...(args.shard === undefined ? {} : { shard: args.shard }),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
    if (args.json === true) writeLine(io.stdout, JSON.stringify(result));
    else io.stdout.write(formatDrift(result));
    if (result.rejectedRows > 0) writeLine(io.stderr, `rejected rows (not compared): ${result.rejectedRows}`);
    return result.usersWithDrift === 0 ? EXIT.ok : EXIT.changesOrDrift;
  } finally {
    await connection.close();
  }
}
