import { createEndpointLimiters, type EndpointScheduler } from '../executor/limiters.js';
import { createRedisGate, type SlotGate } from '../executor/redis-gate.js';
import { TencentClient } from '../tencent/client.js';
import { type ConnectionFlags, resolveConnection } from './config.js';
import type { CliIo } from './io.js';
import { writeLine } from './io.js';

export interface Connection {
  readonly api: TencentClient;
  readonly scheduler: EndpointScheduler;
  close(): Promise<void>;
}

/** The client and the per-endpoint budget (shared through Redis with `redis`), from flags and env. */
export async function connect(
  flags: ConnectionFlags & { rate?: number; redis?: string },
  io: CliIo,
): Promise<Connection> {
  const config = resolveConnection(flags, io.env, io.cwd);
  for (const w of config.warnings) writeLine(io.stderr, `warning: ${w}`);
  const api = new TencentClient({
    sdkAppId: config.sdkAppId,
    secretKey: config.secretKey,
    admin: config.admin,
    ...(config.endpoint === undefined ? { region: config.region as string } : { endpoint: config.endpoint }),
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
  return {
    api,
    scheduler,
    async close() {
      await scheduler.stop();
      await gate?.close();
      await api.close();
    },
  };
}
