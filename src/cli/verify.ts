import type { Mode } from '../model.js';
import type { Shard } from '../planner/shard.js';
import { formatDrift, runVerifyJob } from '../sync/verify-job.js';
import type { ConnectionFlags } from './config.js';
import { type Connection, connect } from './connect.js';
import { boundedWarnings, type CliIo, EXIT, type ExitCode, writeLine } from './io.js';
import { createOutput, type OutputFlags } from './output.js';
import { readProgressHook } from './progress.js';
import { type SpooledInput, spoolInput } from './stdin.js';
import { reportThrown } from './thrown.js';

export interface VerifyArgs extends ConnectionFlags, OutputFlags {
  mode: Mode;
  rate: number;
  shard?: Shard;
  json?: boolean;
  groupNameLimit?: number;
  /** Interval of the JSON progress lines off a terminal (ms). @default 10000 */
  progressInterval?: number;
}

/**
 * `cgsync verify`: 0 when the app matches the CSV, 2 on drift, 4 when there is no drift but some
 * users could not be read (not imported: 50001, …) and so were not compared.
 */
export async function runVerifyCommand(input: string, args: VerifyArgs, io: CliIo): Promise<ExitCode> {
  const out = createOutput(io, args);
  let connection: Connection | undefined;
  let spooled: SpooledInput | undefined;
  const reading = readProgressHook('reading the app', !out.quiet, {
    stream: io.stderr,
    logger: out.logger,
    ...(args.progressInterval === undefined ? {} : { intervalMs: args.progressInterval }),
  });
  try {
    spooled = await spoolInput(input, io);
    connection = await connect(
      { ...args, rate: args.rate },
      io,
      (m) => out.warn(m),
      (m) => out.info(m),
    );
    const result = await runVerifyJob({
      input: spooled.path,
      mode: args.mode,
      api: connection.api,
      scheduler: connection.scheduler,
      ...(args.shard === undefined ? {} : { shard: args.shard }),
      ...(args.groupNameLimit === undefined ? {} : { groupNameLimit: args.groupNameLimit }),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
      ...(io.onPhase === undefined ? {} : { onPhase: io.onPhase }),
      onWarning: boundedWarnings((message) => out.warn(message)),
      onReadProgress: reading.onReadProgress,
    });
    reading.stop();
    if (args.json === true) writeLine(io.stdout, JSON.stringify(result));
    else io.stdout.write(formatDrift(result));
    if (result.rejectedRows > 0) out.warn(`rejected rows (not compared): ${result.rejectedRows}`);
    if (result.usersWithDrift > 0) return EXIT.changesOrDrift;
    return result.usersUnreadable > 0 ? EXIT.partial : EXIT.ok;
  } catch (err) {
    return reportThrown(err, io, {
      ...(args.json === undefined ? {} : { json: args.json }),
      interrupted: 'the comparison was not finished (verify writes nothing); run the command again',
    });
  } finally {
    reading.stop();
    await connection?.close();
    await spooled?.dispose();
  }
}
