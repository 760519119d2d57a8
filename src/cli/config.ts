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
  const credentials = collectCredentials(flags, env, cwd, problems);
  const region = flags.region ?? env.TENCENT_REGION;
  const endpoint = flags.endpoint ?? env.TENCENT_ENDPOINT;
  let baseUrl: URL | undefined;
  if (
    endpoint !== undefined &&
    region !== undefined &&
    flags.endpoint !== undefined &&
    flags.region !== undefined
  ) {
    problems.push('give either --region or --endpoint, not both');
  } else if (endpoint === undefined && region === undefined) {
    problems.push(`no target: set TENCENT_REGION (${Object.keys(REGIONS).join(', ')}) or TENCENT_ENDPOINT`);
  } else if (endpoint === undefined && region !== undefined && !isRegion(region)) {
    problems.push(`unknown region "${region}": expected one of ${Object.keys(REGIONS).join(', ')}`);
  } else {
    try {
      // An endpoint wins over a region (e.g. TENCENT_REGION in the environment, --endpoint for a rehearsal).
      baseUrl = resolveBaseUrl(endpoint === undefined ? { region: region as string } : { endpoint });
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  const rawBackup = env.TENCENT_BACKUP_DOMAIN;
  let backupDomain = flags.backupDomain === true;
  if (!backupDomain && rawBackup !== undefined && rawBackup !== '') {
    if (/^(1|true|yes)$/i.test(rawBackup)) backupDomain = true;
    else if (!/^(0|false|no)$/i.test(rawBackup)) {
      problems.push(`TENCENT_BACKUP_DOMAIN must be 1 or 0 (true or false), got "${rawBackup}"`);
    }
  }
  const backupEndpoint = flags.backupEndpoint ?? env.TENCENT_BACKUP_ENDPOINT;
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
    baseUrl,
    backupDomain,
    ...(endpoint === undefined ? { region: region as string } : { endpoint }),
    ...(backupEndpoint === undefined || backupEndpoint === '' ? {} : { backupEndpoint }),
  };
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
