import { resolve } from 'node:path';
import type { Mode } from '../model.js';
import type { Shard } from '../planner/shard.js';
import { formatDrift, runVerifyJob } from '../sync/verify-job.js';
import type { ConnectionFlags } from './config.js';
import { type Connection, connect } from './connect.js';
import { boundedWarnings, type CliIo, EXIT, type ExitCode, writeLine } from './io.js';
import { reportThrown } from './thrown.js';

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
  let connection: Connection | undefined;
  try {
    connection = await connect({ ...args, rate: args.rate }, io);
    const result = await runVerifyJob({
      input: resolve(io.cwd, input),
      mode: args.mode,
      api: connection.api,
      scheduler: connection.scheduler,
      ...(args.shard === undefined ? {} : { shard: args.shard }),
      ...(args.groupNameLimit === undefined ? {} : { groupNameLimit: args.groupNameLimit }),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
      ...(io.onPhase === undefined ? {} : { onPhase: io.onPhase }),
      onWarning: boundedWarnings((message) => writeLine(io.stderr, `warning: ${message}`)),
    });
    if (args.json === true) writeLine(io.stdout, JSON.stringify(result));
    else io.stdout.write(formatDrift(result));
    if (result.rejectedRows > 0) writeLine(io.stderr, `rejected rows (not compared): ${result.rejectedRows}`);
    if (result.usersWithDrift > 0) return EXIT.changesOrDrift;
    return result.usersUnreadable > 0 ? EXIT.partial : EXIT.ok;
  } catch (err) {
    return reportThrown(err, io, {
      ...(args.json === undefined ? {} : { json: args.json }),
      interrupted: 'the comparison was not finished (verify writes nothing); run the command again',
    });
  } finally {
    await connection?.close();
  }
}
