import { type Connection, openConnection } from '../sync/connection.js';
import { type ConnectionFlags, describeTarget, resolveConnection, targetOf } from './config.js';
import type { CliIo } from './io.js';
import { writeLine } from './io.js';

export type { Connection } from '../sync/connection.js';

/**
 * The client and the per-endpoint budget (shared through Redis with `redis`), from flags and env,
 * through the one assembly the library uses too ({@link openConnection}). A switch to the backup
 * domain (connection failures on the main one) is told through `warn`. The target (SDKAppID and host,
 * never the key) is told through `info` before anything is called.
 */
export async function connect(
  flags: ConnectionFlags & { rate?: number; redis?: string },
  io: CliIo,
  warn: (message: string) => void = (message) => writeLine(io.stderr, `warning: ${message}`),
  info: (message: string) => void = (message) => writeLine(io.stderr, message),
): Promise<Connection> {
  const config = resolveConnection(flags, io.env, io.cwd);
  for (const w of config.warnings) warn(w);
  info(
    `target: ${describeTarget(targetOf(config))}${config.backupDomain ? ` (backup domain ${config.baseUrl.host})` : ''}`,
  );
  return openConnection({
    ...config,
    ...(flags.rate === undefined ? {} : { rate: flags.rate }),
    ...(flags.redis === undefined ? {} : { redis: flags.redis }),
    ...(io.signal === undefined ? {} : { signal: io.signal }),
    onWarning: warn,
  });
}
