import { AccessCheckedApi, afterAccessCheck } from '../executor/preflight.js';
import { createEndpointLimiters, type EndpointScheduler } from '../executor/rate/limiters.js';
import type { SlotGate } from '../executor/rate/redis-gate.js';
import { TencentClient } from '../tencent/client.js';
import { resolveBaseUrl } from '../tencent/regions.js';

/** What a run talks to: the app and the service's host. Never the key. */
export interface Target {
  readonly sdkAppId: number;
  /** The host (and port) of the main domain or endpoint, e.g. `adminapisgp.im.qcloud.com`. */
  readonly host: string;
}

/**
 * Everything a connection needs, already resolved (the CLI from its flags and environment,
 * the library from its options): one region or one endpoint.
 */
export interface ConnectionSettings {
  readonly sdkAppId: number;
  /** Signs the UserSigs; never logged, never part of an error, event or result. */
  readonly secretKey: string;
  readonly admin: string;
  readonly region?: string;
  readonly endpoint?: string;
  /** With a region: use its backup domain from the start. @default false */
  readonly backupDomain?: boolean;
  /** With an endpoint: where to switch when it keeps failing to connect. */
  readonly backupEndpoint?: string;
  /** Calls per second per endpoint. @default 200 */
  readonly rate?: number;
  /** A Redis URL: the budget is shared with every process using it. */
  readonly redis?: string;
  /** Stops the access check's retries. */
  readonly signal?: AbortSignal;
  /** Told when calls switch to the backup domain. */
  readonly onWarning?: (message: string) => void;
}

export interface Connection {
  /** The client, checking the credentials and the target before its first call. */
  readonly api: AccessCheckedApi;
  readonly scheduler: EndpointScheduler;
  /** The app and host the run talks to. */
  readonly target: Target;
  close(): Promise<void>;
}

/** The target of settings: the main domain's host even when the backup domain is used. */
export function targetOf(settings: Pick<ConnectionSettings, 'sdkAppId' | 'region' | 'endpoint'>): Target {
  const main =
    settings.endpoint === undefined
      ? resolveBaseUrl({ region: settings.region as string })
      : resolveBaseUrl({ endpoint: settings.endpoint });
  return { sdkAppId: settings.sdkAppId, host: main.host };
}

/** `SDKAppID 1400000000 at adminapisgp.im.qcloud.com`. */
export function describeTarget(target: Target): string {
  return `SDKAppID ${target.sdkAppId} at ${target.host}`;
}

/**
 * The client and the per-endpoint budget (shared through Redis with `redis`): the one assembly the
 * CLI's commands and the library's jobs use. Before the first real call, one cheap signed call checks
 * the credentials and that the service is reachable (`AccessCheckedApi`): a wrong key or a dead
 * endpoint ends the run there, in seconds, with the cause.
 */
export async function openConnection(settings: ConnectionSettings): Promise<Connection> {
  const target = targetOf(settings);
  const warn = settings.onWarning;
  const api = new TencentClient({
    sdkAppId: settings.sdkAppId,
    secretKey: settings.secretKey,
    admin: settings.admin,
    ...(settings.endpoint === undefined
      ? { region: settings.region as string, backup: settings.backupDomain === true }
      : {
          endpoint: settings.endpoint,
          ...(settings.backupEndpoint === undefined ? {} : { backupEndpoint: settings.backupEndpoint }),
        }),
    onBackupSwitch: (e) =>
      warn?.(
        `${e.from} failed to connect ${e.failures} times in a row (${e.cause}): switching to the backup domain ${e.to}`,
      ),
  });
  let gate: SlotGate | undefined;
  try {
    gate =
      settings.redis === undefined
        ? undefined
        : // Loaded only with a Redis URL: ioredis is the biggest import after undici, and most runs have none.
          await (await import('../executor/rate/redis-gate.js')).createRedisGate({
            url: settings.redis,
            ...(settings.rate === undefined ? {} : { rate: settings.rate }),
          });
  } catch (err) {
    await api.close();
    throw err;
  }
  const scheduler = createEndpointLimiters({
    ...(settings.rate === undefined ? {} : { rate: settings.rate }),
    ...(gate === undefined ? {} : { gate }),
  });
  const checked = new AccessCheckedApi(api, {
    admin: settings.admin,
    // The check's call is one of the run's: counted, and within the endpoint's rate.
    scheduler,
    target: api.baseUrl.origin,
    // Room for the switch to the backup domain (3 connection failures) and then a success.
    attempts: api.canSwitchToBackup ? 6 : 3,
    ...(settings.signal === undefined ? {} : { signal: settings.signal }),
  });
  return {
    api: checked,
    // Calls wait for the check before they take a slot: none holds one the check would need.
    scheduler: afterAccessCheck(scheduler, checked),
    target,
    async close() {
      await scheduler.stop();
      await gate?.close();
      await api.close();
    },
  };
}
