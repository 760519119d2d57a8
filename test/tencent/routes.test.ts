import { describe, expect, it } from 'vitest';
import { isSyncError, type SyncError } from '../../src/errors.js';
import {
  failureOf,
  type RouteSwitchEvent,
  TencentClient,
  type TencentClientOptions,
} from '../../src/tencent/client.js';
import { isConnectionFailure } from '../../src/tencent/routes.js';

// Which failures move the calls to the backup domain, and when (no network: an injected dispatcher).

describe('isConnectionFailure: the service was not reached, or not trusted', () => {
  it.each([
    'ECONNREFUSED',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'EHOSTDOWN',
    'ENETDOWN',
    'UND_ERR_CONNECT_TIMEOUT',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'ERR_SSL_WRONG_VERSION_NUMBER',
    'CERT_HAS_EXPIRED',
  ])('%s is', (code) => {
    expect(isConnectionFailure(code)).toBe(true);
  });

  it.each([
    'ECONNRESET',
    'EPIPE',
    'UND_ERR_SOCKET',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
    'X_ERR_TLS_',
    'X_ERR_SSL_',
    'X_CERT_',
    '',
  ])('%j is not (the service was reached, or the code is unknown)', (code) => {
    expect(isConnectionFailure(code)).toBe(false);
  });
});

/** A client whose every request is refused; `origins` records where each one went. */
function refusingClient(extra: Partial<TencentClientOptions>) {
  const origins: string[] = [];
  const dispatcher = {
    request: (options: { origin: URL }) => {
      origins.push(options.origin.origin);
      return Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    },
  } as unknown as NonNullable<TencentClientOptions['dispatcher']>;
  const switches: RouteSwitchEvent[] = [];
  const c = new TencentClient({
    sdkAppId: 1400000000,
    secretKey: 'k'.repeat(64),
    endpoint: 'http://127.0.0.1:9',
    dispatcher,
    onBackupSwitch: (e) => switches.push(e),
    ...extra,
  });
  return { c, origins, switches };
}

async function refusals(c: TencentClient, n: number): Promise<SyncError[]> {
  const out: SyncError[] = [];
  for (let i = 0; i < n; i++) {
    const err = await c.getGroupsPage('u', 0).catch((e: unknown) => e);
    if (!isSyncError(err)) throw err;
    out.push(err);
  }
  return out;
}

describe('switching to the backup', () => {
  it('without a backup, refused connections stay network failures, call after call', async () => {
    const { c, origins } = refusingClient({});
    const errs = await refusals(c, 5);
    expect(errs.map((e) => failureOf(e))).toEqual(Array(5).fill({ kind: 'network', cause: 'ECONNREFUSED' }));
    expect(new Set(origins)).toEqual(new Set(['http://127.0.0.1:9']));
    await c.close();
  });

  it('switchToBackupAfter 0 never switches', async () => {
    const { c, origins, switches } = refusingClient({
      backupEndpoint: 'http://127.0.0.2:9',
      switchToBackupAfter: 0,
    });
    await refusals(c, 4);
    expect(switches).toEqual([]);
    expect(origins).toEqual(Array(4).fill('http://127.0.0.1:9'));
    await c.close();
  });

  it('switches once: failures on the backup do not switch again', async () => {
    const { c, origins, switches } = refusingClient({
      backupEndpoint: 'http://127.0.0.2:9',
      switchToBackupAfter: 2,
    });
    await refusals(c, 6);
    expect(switches).toEqual([
      { from: 'http://127.0.0.1:9', to: 'http://127.0.0.2:9', failures: 2, cause: 'ECONNREFUSED' },
    ]);
    expect(origins).toEqual([...Array(2).fill('http://127.0.0.1:9'), ...Array(4).fill('http://127.0.0.2:9')]);
    expect(c.canSwitchToBackup).toBe(false);
    await c.close();
  });
});
