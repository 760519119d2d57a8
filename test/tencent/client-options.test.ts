import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isSyncError } from '../../src/errors.js';
import { failureOf, TencentClient, type TencentClientOptions } from '../../src/tencent/client.js';

// The client's options as a JavaScript caller (no types) may pass them, and what `connections`
// and `close()` do to the sockets the service sees.

const BASE = {
  sdkAppId: 1400000000,
  secretKey: '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e',
  endpoint: 'http://127.0.0.1:9',
};

/** The CONFIG message the constructor throws for `options` (cast: as JavaScript would pass them). */
function refusal(options: Record<string, unknown>): string {
  try {
    new TencentClient(options as unknown as TencentClientOptions).close();
  } catch (err) {
    if (isSyncError(err, 'CONFIG')) return err.message;
    throw err;
  }
  throw new Error('expected the options to be refused');
}

describe('options a JavaScript caller may get wrong', () => {
  it.each([
    [{ secretKey: undefined }, 'Expected `secretKey` to be a non-empty string, got a undefined'],
    [{ admin: 42 }, 'Expected `admin` to be a non-empty string, got `42` (number)'],
    [
      { timeoutMs: Number.POSITIVE_INFINITY },
      "Expected `timeoutMs` to be a number of ms above the service's own 3000 ms timeout, got `Infinity` (number)",
    ],
    [
      { timeoutMs: '5000' },
      "Expected `timeoutMs` to be a number of ms above the service's own 3000 ms timeout, got `5000` (string)",
    ],
    [{ onCall: 'log' }, 'Expected `onCall` to be a function, got `log` (string)'],
    [{ onBackupSwitch: true }, 'Expected `onBackupSwitch` to be a function, got `true` (boolean)'],
    [
      { switchToBackupAfter: -1 },
      'Expected `switchToBackupAfter` to be an integer from 0 and up, got `-1` (number)',
    ],
    [
      { switchToBackupAfter: 1.5 },
      'Expected `switchToBackupAfter` to be an integer from 0 and up, got `1.5` (number)',
    ],
    [{ unexpectedLimit: 0 }, 'Expected `unexpectedLimit` to be an integer from 1 and up, got `0` (number)'],
    [
      { endpoint: undefined, backupEndpoint: 'http://127.0.0.1:10' },
      'Expected `backupEndpoint` only with `endpoint` (a region has its own backup domain)',
    ],
  ])('%j', (extra, problem) => {
    expect(refusal({ ...BASE, ...extra })).toBe(`Invalid client options: ${problem}`);
  });

  it('several problems are reported in one message, separated by "; "', () => {
    expect(refusal({ ...BASE, onCall: 'log', unexpectedLimit: 0 })).toBe(
      'Invalid client options: Expected `onCall` to be a function, got `log` (string); Expected `unexpectedLimit` to be an integer from 1 and up, got `0` (number)',
    );
  });

  it('an unknown region is reported once, not again for its backup domain', () => {
    const message = refusal({ ...BASE, endpoint: undefined, region: 'mars' });
    expect(message.startsWith('Invalid client options: Unknown region "mars"')).toBe(true);
    expect(message.split('Unknown region').length).toBe(2);
  });

  it('the limits that are allowed pass', () => {
    for (const extra of [
      { switchToBackupAfter: 0 },
      { unexpectedLimit: 1 },
      { timeoutMs: 3001 },
      { admin: 'ops' },
    ]) {
      const c = new TencentClient({ ...BASE, ...extra });
      expect(c.baseUrl.origin).toBe('http://127.0.0.1:9');
      void c.close();
    }
  });
});

/** A local service that answers every call with `body` after `delayMs`, counting its sockets. */
async function countingServer(body: string, delayMs: number) {
  const sockets = new Set<Socket>();
  let opened = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
      }, delayMs);
    });
  });
  server.on('connection', (s: Socket) => {
    opened++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    opened: () => opened,
    open: () => sockets.size,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const PAGE = JSON.stringify({
  ActionStatus: 'OK',
  ErrorCode: 0,
  ErrorInfo: '',
  GroupItem: [],
  ContactItem: [],
  CompleteFlag: 1,
  NextStartIndex: 0,
});

describe('connections and close()', () => {
  it('opens at most `connections` sockets, and close() closes them', async () => {
    const server = await countingServer(PAGE, 50);
    try {
      const c = new TencentClient({ ...BASE, endpoint: server.url, connections: 2 });
      await Promise.all(Array.from({ length: 6 }, () => c.getGroupsPage('u', 0)));
      expect(server.opened()).toBe(2);
      expect(server.open()).toBe(2);
      await c.close();
      for (let i = 0; i < 100 && server.open() > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(server.open()).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('a call after close() is a USAGE error naming the call and the user, and sends nothing', async () => {
    const server = await countingServer(PAGE, 0);
    try {
      const c = new TencentClient({ ...BASE, endpoint: server.url });
      await c.close();
      const err = await c.deleteGroup('alice', 'g').catch((e: unknown) => e);
      expect(isSyncError(err, 'USAGE')).toBe(true);
      expect((err as Error).message).toBe('del_contact_group called after the client was closed');
      expect((err as { context: unknown }).context).toEqual({ user: 'alice' });
      expect(server.opened()).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('unexpectedLimit sets how many unexpected answers in a row are tolerated', async () => {
    const server = await countingServer('not json', 0);
    try {
      const c = new TencentClient({ ...BASE, endpoint: server.url, unexpectedLimit: 2 });
      const failures = [];
      for (let i = 0; i < 2; i++)
        failures.push(failureOf(await c.getGroupsPage('u', 0).catch((e: unknown) => e)));
      expect(failures).toEqual([
        { kind: 'unexpected', repeated: false },
        { kind: 'unexpected', repeated: true },
      ]);
      await c.close();
    } finally {
      await server.close();
    }
  });
});
