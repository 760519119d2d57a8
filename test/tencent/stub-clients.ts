import { afterAll, afterEach, beforeAll } from 'vitest';
import { isSyncError, type SyncError } from '../../src/errors.js';
import { TencentClient, type TencentClientOptions } from '../../src/tencent/client.js';
import { type Stub, sendJson, startStub } from './stub-server.js';

// The client fixture of the tencent tests: credentials, the success answer, a stub server per test file
// and the clients made on it (closed after each test), and the rejection a test expects.

export const SDK_APP_ID = 1400000000;
export const SECRET_KEY = '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e';
export const OK = { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' };

/** The SyncError `promise` rejects with; fails the test if it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<SyncError> {
  try {
    await promise;
  } catch (err) {
    if (isSyncError(err)) return err;
    throw err;
  }
  throw new Error('expected the call to reject');
}

export interface StubClients {
  /** The file's stub server (started in beforeAll; answers OK again after each test). */
  readonly stub: Stub;
  /** A client on the stub server, closed after the test. */
  client(extra?: Partial<TencentClientOptions>): TencentClient;
  /** A client on exactly these options beside the credentials (no endpoint given), closed after the test. */
  clientWith(options: Omit<TencentClientOptions, 'sdkAppId' | 'secretKey'>): TencentClient;
}

/** Registers the hooks of a test file that calls a stub server; call it at the file's top level. */
export function useStubClients(): StubClients {
  let current: Stub | undefined;
  const clients: TencentClient[] = [];
  const started = (): Stub => {
    if (current === undefined) throw new Error('the stub server starts in beforeAll');
    return current;
  };
  const stub: Stub = {
    get url() {
      return started().url;
    },
    get requests() {
      return started().requests;
    },
    handle: (handler) => started().handle(handler),
    reset: () => started().reset(),
    close: () => started().close(),
  };
  const clientWith = (options: Omit<TencentClientOptions, 'sdkAppId' | 'secretKey'>): TencentClient => {
    const c = new TencentClient({ sdkAppId: SDK_APP_ID, secretKey: SECRET_KEY, ...options });
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    current = await startStub();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    stub.reset();
    stub.handle((_req, res) => sendJson(res, OK));
  });
  afterAll(async () => {
    await current?.close();
  });
  return { stub, client: (extra = {}) => clientWith({ endpoint: stub.url, ...extra }), clientWith };
}
