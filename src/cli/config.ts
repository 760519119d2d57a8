import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { SyncError } from '../errors.js';
import { isRegion, REGIONS, resolveBaseUrl } from '../tencent/regions.js';

/** Connection settings, from flags or the environment (the README's "Commands"). */
export interface ConnectionConfig extends Credentials {
  readonly region?: string;
  readonly endpoint?: string;
  readonly baseUrl: URL;
  /** Use the region's backup domain from the start. */
  readonly backupDomain: boolean;
  /** With an endpoint: where to switch when it keeps failing to connect. */
  readonly backupEndpoint?: string;
}

export interface ConnectionFlags {
  sdkappid?: string;
  secretKeyFile?: string;
  admin?: string;
  region?: string;
  endpoint?: string;
  backupDomain?: boolean;
  backupEndpoint?: string;
}

/** SDKAppID, key and admin: what signing (and the emulator's verifying) needs. */
export interface Credentials {
  readonly sdkAppId: number;
  readonly secretKey: string;
  readonly admin: string;
  readonly warnings: readonly string[];
}

/**
 * Resolves connection settings, flags before environment. Every problem is reported at once,
 * before the first call. The key comes from `--secret-key-file` or `TENCENT_SECRET_KEY`, never a flag.
 */
export function resolveConnection(
  flags: ConnectionFlags,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): ConnectionConfig {
  const problems: string[] = [];
  const warnings: string[] = [];
  const credentials = collectCredentials(flags, env, cwd, problems);
  const { region, endpoint, fromFlags } = pickTarget(flags, env);
  let baseUrl: URL | undefined;
  if (flags.endpoint !== undefined && flags.region !== undefined) {
    problems.push('give either --region or --endpoint, not both');
  } else if (endpoint === undefined && region === undefined) {
    problems.push(`no target: set TENCENT_REGION (${Object.keys(REGIONS).join(', ')}) or TENCENT_ENDPOINT`);
  } else if (endpoint === undefined && region !== undefined && !isRegion(region)) {
    problems.push(`unknown region "${region}": expected one of ${Object.keys(REGIONS).join(', ')}`);
  } else {
    try {
      // Both in the environment: the endpoint wins (e.g. a rehearsal against the emulator), and says so.
      if (endpoint !== undefined && region !== undefined) {
        warnings.push(
          `TENCENT_ENDPOINT and TENCENT_REGION are both set: using the endpoint ${endpoint} (give --region or --endpoint to choose)`,
        );
      }
      baseUrl = resolveBaseUrl(endpoint === undefined ? { region: region as string } : { endpoint });
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  // TENCENT_BACKUP_DOMAIN goes with a region; with --endpoint on the command line it is not this target's.
  const rawBackup = flags.endpoint === undefined ? env.TENCENT_BACKUP_DOMAIN : undefined;
  let backupDomain = flags.backupDomain === true;
  if (!backupDomain && rawBackup !== undefined && rawBackup !== '') {
    if (/^(1|true|yes)$/i.test(rawBackup)) backupDomain = true;
    else if (!/^(0|false|no)$/i.test(rawBackup)) {
      problems.push(`TENCENT_BACKUP_DOMAIN must be 1 or 0 (true or false), got "${rawBackup}"`);
    }
  }
  const backupEndpoint = flags.backupEndpoint ?? (fromFlags ? undefined : env.TENCENT_BACKUP_ENDPOINT);
  if (backupDomain && endpoint !== undefined) {
    problems.push('--backup-domain needs a region; with --endpoint, give --backup-endpoint instead');
  }
  if (backupEndpoint !== undefined && backupEndpoint !== '') {
    if (endpoint === undefined) {
      problems.push('--backup-endpoint goes with --endpoint (a region has its documented backup domain)');
    } else {
      try {
        resolveBaseUrl({ endpoint: backupEndpoint });
      } catch (err) {
        problems.push(`backup endpoint: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
  if (problems.length > 0 || baseUrl === undefined) {
    throw new SyncError('CONFIG', `Configuration problems:\n  - ${problems.join('\n  - ')}`);
  }
  if (backupDomain && region !== undefined) baseUrl = resolveBaseUrl({ region, backup: true });
  return {
    ...credentials,
    warnings: [...credentials.warnings, ...warnings],
    baseUrl,
    backupDomain,
    ...(endpoint === undefined ? { region: region as string } : { endpoint }),
    ...(backupEndpoint === undefined || backupEndpoint === '' ? {} : { backupEndpoint }),
  };
}

/**
 * The target a run names, flags before environment: a target named on the command line (--region or
 * --endpoint) takes nothing of the one the environment names (TENCENT_REGION, TENCENT_ENDPOINT and
 * their backups), so `--region singapore` is never overridden by a TENCENT_ENDPOINT set for another run.
 */
function pickTarget(
  flags: ConnectionFlags,
  env: Readonly<Record<string, string | undefined>>,
): { readonly region?: string; readonly endpoint?: string; readonly fromFlags: boolean } {
  const fromFlags = flags.region !== undefined || flags.endpoint !== undefined;
  const region = fromFlags ? flags.region : nonEmpty(env.TENCENT_REGION);
  const endpoint = fromFlags ? flags.endpoint : nonEmpty(env.TENCENT_ENDPOINT);
  return {
    fromFlags,
    ...(region === undefined ? {} : { region }),
    ...(endpoint === undefined ? {} : { endpoint }),
  };
}

/** What a run talks to: the app and the service's host. Never the key. */
export interface Target {
  readonly sdkAppId: number;
  /** The host (and port) of the main domain or endpoint, e.g. `adminapisgp.im.qcloud.com`. */
  readonly host: string;
}

/** The target of resolved settings: the main domain's host even when the backup domain is used. */
export function targetOf(config: ConnectionConfig): Target {
  const main =
    config.endpoint === undefined
      ? resolveBaseUrl({ region: config.region as string })
      : resolveBaseUrl({ endpoint: config.endpoint });
  return { sdkAppId: config.sdkAppId, host: main.host };
}

/**
 * The target flags and environment name, without needing the key (for a plan made with
 * `--assume-empty`, which connects to nothing); undefined when they name none, or not a valid one.
 */
export function peekTarget(
  flags: ConnectionFlags,
  env: Readonly<Record<string, string | undefined>>,
): Target | undefined {
  const rawAppId = flags.sdkappid ?? env.TENCENT_SDKAPPID;
  if (rawAppId === undefined || !/^\d{1,10}$/.test(rawAppId) || Number(rawAppId) <= 0) return undefined;
  const { region, endpoint } = pickTarget(flags, env);
  try {
    if (endpoint !== undefined)
      return { sdkAppId: Number(rawAppId), host: resolveBaseUrl({ endpoint }).host };
    if (region !== undefined && isRegion(region)) {
      return { sdkAppId: Number(rawAppId), host: resolveBaseUrl({ region }).host };
    }
  } catch {
    // Not a valid endpoint: no target.
  }
  return undefined;
}

/** `SDKAppID 1400000000 at adminapisgp.im.qcloud.com`. */
export function describeTarget(target: Target): string {
  return `SDKAppID ${target.sdkAppId} at ${target.host}`;
}

/** Resolves the SDKAppID, key and admin only (for `usersig` and `emulator`). */
export function resolveCredentials(
  flags: ConnectionFlags,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Credentials {
  const problems: string[] = [];
  const credentials = collectCredentials(flags, env, cwd, problems);
  if (problems.length > 0) {
    throw new SyncError('CONFIG', `Configuration problems:\n  - ${problems.join('\n  - ')}`);
  }
  return credentials;
}

function collectCredentials(
  flags: ConnectionFlags,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  problems: string[],
): Credentials {
  const warnings: string[] = [];
  const rawAppId = flags.sdkappid ?? env.TENCENT_SDKAPPID;
  let sdkAppId = 0;
  if (rawAppId === undefined || rawAppId === '') {
    problems.push('SDKAppID is missing: set TENCENT_SDKAPPID or --sdkappid');
  } else if (!/^\d{1,10}$/.test(rawAppId) || Number(rawAppId) <= 0 || Number(rawAppId) > 0xffffffff) {
    problems.push(`SDKAppID must be a positive integer, got "${rawAppId}"`);
  } else {
    sdkAppId = Number(rawAppId);
  }

  let secretKey = '';
  if (flags.secretKeyFile !== undefined) {
    const path = resolve(cwd, flags.secretKeyFile);
    try {
      const mode = statSync(path).mode;
      secretKey = readFileSync(path, 'utf8').trim();
      if ((mode & 0o077) !== 0 && process.platform !== 'win32') {
        // Not fatal: many setups mount secrets 0644. Worth a word, though.
        warnings.push(
          `secret key file ${path} is readable by group or others (mode ${(mode & 0o777).toString(8)})`,
        );
      }
      if (secretKey === '') problems.push(`secret key file ${path} is empty`);
    } catch {
      problems.push(`secret key file ${path} cannot be read`);
    }
  } else if (env.TENCENT_SECRET_KEY !== undefined && env.TENCENT_SECRET_KEY !== '') {
    secretKey = env.TENCENT_SECRET_KEY;
  } else {
    problems.push('SecretKey is missing: set TENCENT_SECRET_KEY or --secret-key-file');
  }

  const admin = flags.admin ?? env.TENCENT_ADMIN ?? 'administrator';
  if (admin === '') problems.push('admin identifier is empty');
  return { sdkAppId, secretKey, admin, warnings };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
