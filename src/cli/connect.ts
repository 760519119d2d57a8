import { AccessCheckedApi } from '../executor/preflight.js';
import { createEndpointLimiters, type EndpointScheduler } from '../executor/rate/limiters.js';
import { createRedisGate, type SlotGate } from '../executor/rate/redis-gate.js';
import { TencentClient } from '../tencent/client.js';
import { type ConnectionFlags, describeTarget, resolveConnection, type Target, targetOf } from './config.js';
import type { CliIo } from './io.js';
import { writeLine } from './io.js';

export interface Connection {
  /** The client, checking the credentials and the target before its first call. */
  readonly api: AccessCheckedApi;
  readonly scheduler: EndpointScheduler;
  /** The app and host the run talks to (printed before the first call). */
  readonly target: Target;
  close(): Promise<void>;
}

/**
 * The client and the per-endpoint budget (shared through Redis with `redis`), from flags and env.
 * Before the first real call, one cheap signed call checks the credentials and that the service is
 * reachable (`AccessCheckedApi`): a wrong key or a dead endpoint ends the run there, in seconds, with
 * the cause. A switch to the backup domain (connection failures on the main one) is told through `warn`.
 * The target (SDKAppID and host, never the key) is told through `info` before anything is called.
 */
export async function connect(
  flags: ConnectionFlags & { rate?: number; redis?: string },
  io: CliIo,
  warn: (message: string) => void = (message) => writeLine(io.stderr, `warning: ${message}`),
  info: (message: string) => void = (message) => writeLine(io.stderr, message),
): Promise<Connection> {
  const config = resolveConnection(flags, io.env, io.cwd);
  for (const w of config.warnings) warn(w);
  const target = targetOf(config);
  info(
    `target: ${describeTarget(target)}${config.backupDomain ? ` (backup domain ${config.baseUrl.host})` : ''}`,
  );
  const api = new TencentClient({
    sdkAppId: config.sdkAppId,
    secretKey: config.secretKey,
    admin: config.admin,
    ...(config.endpoint === undefined
      ? { region: config.region as string, backup: config.backupDomain }
      : {
          endpoint: config.endpoint,
          ...(config.backupEndpoint === undefined ? {} : { backupEndpoint: config.backupEndpoint }),
        }),
    onBackupSwitch: (e) =>
      warn(
        `${e.from} failed to connect ${e.failures} times in a row (${e.cause}): switching to the backup domain ${e.to}`,
      ),
  });
  let gate: SlotGate | undefined;
  try {
    gate =
      flags.redis === undefined
        ? undefined
        : await createRedisGate({
            url: flags.redis,
            ...(flags.rate === undefined ? {} : { rate: flags.rate }),
          });
  } catch (err) {
    await api.close();
    throw err;
  }
  const scheduler = createEndpointLimiters({
    ...(flags.rate === undefined ? {} : { rate: flags.rate }),
    ...(gate === undefined ? {} : { gate }),
  });
  const checked = new AccessCheckedApi(api, {
    admin: config.admin,
    target: api.baseUrl.origin,
    // Room for the switch to the backup domain (3 connection failures) and then a success.
    attempts: api.canSwitchToBackup ? 6 : 3,
    ...(io.signal === undefined ? {} : { signal: io.signal }),
  });
  return {
    api: checked,
    scheduler,
    target,
    async close() {
      await scheduler.stop();
      await gate?.close();
      await api.close();
    },
  };
}
