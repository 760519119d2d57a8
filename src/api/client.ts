import { SyncError } from '../errors.js';
import { redactSecrets } from '../log.js';
import { type Connection, openConnection, type Target } from '../sync/connection.js';
import { REGIONS, type Region, resolveBaseUrl } from '../tencent/regions.js';
import { checkOptions, is } from './check-options.js';

export type { Target } from '../sync/connection.js';

/** Options of {@link createClient}: the app, its key and where the service is. Give `region` or `endpoint`. */
export interface ClientOptions {
  /** The app's SDKAppID. */
  readonly sdkAppId: number;
  /** The app's SecretKey: signs the admin UserSig; never in a result, an event or an error. */
  readonly secretKey: string;
  /** The app admin account the calls are made as. @default 'administrator' */
  readonly admin?: string | undefined;
  /** One of the eight regions (`REGIONS`). @default none: give `region` or `endpoint` */
  readonly region?: Region | undefined;
  /** A base URL instead of a region, e.g. the emulator's `url`; plain http only to loopback. @default none */
  readonly endpoint?: string | undefined;
  /** With `region`: use its backup domain from the start. @default false */
  readonly backupDomain?: boolean | undefined;
  /** With `endpoint`: where to switch when it keeps failing to connect. @default none */
  readonly backupEndpoint?: string | undefined;
  /** Calls per second per endpoint, shared by every job using this client. @default 200 */
  readonly rate?: number | undefined;
  /** A Redis URL (`redis://host:6379`): the budget is shared with every process using it. @default none: this process's own budget */
  readonly redis?: string | undefined;
  /** Told when calls switch to the backup domain. @default ignored */
  readonly onWarning?: ((message: string) => void) | undefined;
}

/**
 * A connection to one app: the HTTP client, the per-endpoint rate budget its jobs share, and the
 * target. Close it when done.
 */
export interface Client {
  /** The app and host the client talks to (never the key). */
  readonly target: Target;
  /** Calls per second per endpoint. */
  readonly rate: number;
  /** Stops the budget and closes the connections; a job given a closed client is refused. */
  close(): Promise<void>;
}

const connections = new WeakMap<Client, { connection: Connection; closed: boolean }>();

const RULES = {
  sdkAppId: { ...is.integer(1, 0xffffffff, true) },
  secretKey: { ...is.text(true), secret: true },
  admin: is.text(),
  region: is.oneOf(Object.keys(REGIONS)),
  endpoint: is.text(),
  backupDomain: is.boolean(),
  backupEndpoint: is.text(),
  rate: is.rate(),
  redis: is.text(),
  onWarning: is.fn(),
} as const;

/**
 * Connects to the app: checks the options, then the credentials and that the service answers (one
 * cheap signed call), so a wrong key or a dead endpoint fails here, with the cause.
 * @throws SyncError `USAGE` (an option), `CONFIG` (the target), `AUTH` (the key), `TRANSPORT`.
 */
export async function createClient(options: ClientOptions): Promise<Client> {
  checkOptions<ClientOptions>('createClient', options, RULES);
  if ((options.region === undefined) === (options.endpoint === undefined)) {
    throw new SyncError('USAGE', 'createClient(): give one of `region` or `endpoint`');
  }
  if (options.backupDomain === true && options.region === undefined) {
    throw new SyncError('USAGE', 'createClient(): `backupDomain` goes with `region`');
  }
  if (options.backupEndpoint !== undefined && options.endpoint === undefined) {
    throw new SyncError('USAGE', 'createClient(): `backupEndpoint` goes with `endpoint`');
  }
  for (const [name, endpoint] of [
    ['endpoint', options.endpoint],
    ['backupEndpoint', options.backupEndpoint],
  ] as const) {
    if (endpoint === undefined) continue;
    try {
      resolveBaseUrl({ endpoint });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new SyncError('CONFIG', `createClient(): \`${name}\`: ${redactSecrets(why)}`);
    }
  }
  const warn = options.onWarning;
  const connection = await openConnection({
    sdkAppId: options.sdkAppId,
    secretKey: options.secretKey,
    admin: options.admin ?? 'administrator',
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.backupDomain === undefined ? {} : { backupDomain: options.backupDomain }),
    ...(options.backupEndpoint === undefined ? {} : { backupEndpoint: options.backupEndpoint }),
    ...(options.rate === undefined ? {} : { rate: options.rate }),
    ...(options.redis === undefined ? {} : { redis: options.redis }),
    onWarning: (message) => {
      try {
        warn?.(redactSecrets(message));
      } catch {
        // The caller's listener cannot break the client.
      }
    },
  });
  try {
    await connection.api.ready();
  } catch (err) {
    await connection.close();
    throw err;
  }
  const state = { connection, closed: false };
  const client: Client = Object.freeze({
    target: connection.target,
    rate: connection.scheduler.rate,
    async close() {
      if (state.closed) return;
      state.closed = true;
      await connection.close();
    },
  });
  connections.set(client, state);
  return client;
}

/** The connection of a client from {@link createClient}; refuses anything else, and a closed one. */
export function connectionOf(fn: string, client: unknown): Connection {
  const state = typeof client === 'object' && client !== null ? connections.get(client as Client) : undefined;
  if (state === undefined) {
    throw new SyncError('USAGE', `${fn}(): Expected \`client\` to be a client from createClient()`);
  }
  if (state.closed) throw new SyncError('USAGE', `${fn}(): the client was closed`);
  return state.connection;
}

/** The `client` rule of a job's options. */
export const clientRule = {
  expected: 'a client from createClient()',
  test: (v: unknown) => typeof v === 'object' && v !== null && connections.has(v as Client),
} as const;

/**
 * The options of {@link createClient} from environment variables, read only when this is called:
 * `TENCENT_SDKAPPID`, `TENCENT_SECRET_KEY`, `TENCENT_ADMIN`, and `TENCENT_ENDPOINT` or `TENCENT_REGION`
 * (the endpoint when both are set, as the CLI does), `TENCENT_BACKUP_ENDPOINT`.
 * @param env @default process.env
 * @throws SyncError `CONFIG` naming every variable missing or wrong (never the key's value).
 */
export function credentialsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ClientOptions {
  const problems: string[] = [];
  const value = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const rawAppId = value('TENCENT_SDKAPPID');
  const sdkAppId = Number(rawAppId);
  if (rawAppId === undefined) problems.push('TENCENT_SDKAPPID is not set');
  else if (!/^\d{1,10}$/.test(rawAppId) || sdkAppId <= 0 || sdkAppId > 0xffffffff) {
    problems.push(`TENCENT_SDKAPPID must be a positive integer, got "${rawAppId}"`);
  }
  const secretKey = value('TENCENT_SECRET_KEY');
  if (secretKey === undefined) problems.push('TENCENT_SECRET_KEY is not set');
  const endpoint = value('TENCENT_ENDPOINT');
  const region = value('TENCENT_REGION');
  if (endpoint === undefined && region === undefined) {
    problems.push('neither TENCENT_ENDPOINT nor TENCENT_REGION is set');
  } else if (endpoint === undefined && region !== undefined && !Object.hasOwn(REGIONS, region)) {
    problems.push(`TENCENT_REGION must be one of ${Object.keys(REGIONS).join(', ')}, got "${region}"`);
  }
  if (problems.length > 0) {
    throw new SyncError('CONFIG', `credentialsFromEnv(): ${problems.join('; ')}`);
  }
  const admin = value('TENCENT_ADMIN');
  const backupEndpoint = value('TENCENT_BACKUP_ENDPOINT');
  return {
    sdkAppId,
    secretKey: secretKey as string,
    ...(admin === undefined ? {} : { admin }),
    ...(endpoint === undefined
      ? { region: region as Region }
      : { endpoint, ...(backupEndpoint === undefined ? {} : { backupEndpoint }) }),
  };
}
