import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { SyncError } from '../errors.js';
import { isRegion, REGIONS, resolveBaseUrl } from '../tencent/regions.js';

/** Connection settings, from flags or the environment (PRODUCT.md "Configuration"). */
export interface ConnectionConfig {
  readonly sdkAppId: number;
  readonly secretKey: string;
  readonly admin: string;
  readonly region?: string;
  readonly endpoint?: string;
  readonly baseUrl: URL;
  /** Things worth a word that do not stop the run (e.g. a key file readable by others). */
  readonly warnings: readonly string[];
}

export interface ConnectionFlags {
  sdkappid?: string;
  secretKeyFile?: string;
  admin?: string;
  region?: string;
  endpoint?: string;
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

  const region = flags.region ?? env.TENCENT_REGION;
  const endpoint = flags.endpoint ?? env.TENCENT_ENDPOINT;
  let baseUrl: URL | undefined;
  if (endpoint === undefined && region === undefined) {
    problems.push(`no target: set TENCENT_REGION (${Object.keys(REGIONS).join(', ')}) or TENCENT_ENDPOINT`);
  } else if (endpoint === undefined && region !== undefined && !isRegion(region)) {
    problems.push(`unknown region "${region}": expected one of ${Object.keys(REGIONS).join(', ')}`);
  } else {
    try {
      baseUrl = resolveBaseUrl({
        ...(region === undefined ? {} : { region }),
        ...(endpoint === undefined ? {} : { endpoint }),
      });
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }

  if (problems.length > 0 || baseUrl === undefined) {
    throw new SyncError('CONFIG', `Configuration problems:\n  - ${problems.join('\n  - ')}`);
  }
  return {
    sdkAppId,
    secretKey,
    admin,
    baseUrl,
    warnings,
    ...(region === undefined ? {} : { region }),
    ...(endpoint === undefined ? {} : { endpoint }),
  };
}
