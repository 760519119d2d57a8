import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { request } from '../../src/tencent/undici-lite.js';

const LITE = fileURLToPath(new URL('../../dist/tencent/undici-lite.js', import.meta.url));

/*
 * Run as its own process on the built module: in this one, undici's index is already loaded (the
 * tests import it), and it adds `request` to every dispatcher, which would hide a Pool without it.
 */
const SCRIPT = `
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
const { Pool, request } = await import(process.argv[1]);
const require = createRequire(process.argv[1]);
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => res.end(JSON.stringify({ method: req.method, url: req.url, body })));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = 'http://127.0.0.1:' + server.address().port;
const pool = new Pool(origin, { connections: 1 });
const answer = await request(pool, { origin, path: '/v4/x?a=1', method: 'POST', body: '{"k":1}' });
const text = await answer.body.text();
const indexLoaded = Object.keys(require.cache).some((k) => /[\\\\/]undici[\\\\/]index\\.js$/.test(k));
await pool.close();
server.close();
const index = require('undici');
console.log(JSON.stringify({
  status: answer.statusCode,
  text,
  indexLoaded,
  samePool: Pool === index.Pool,
  sameRequest: require('undici/lib/api/api-request.js') === index.Pool.prototype.request,
}));
`;

describe('undici-lite', () => {
  it("sends a request through Pool without undici's index, and both are the index's own", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', SCRIPT, LITE],
      { timeout: 20_000 },
    );
    expect(JSON.parse(stdout)).toEqual({
      status: 200,
      text: JSON.stringify({ method: 'POST', url: '/v4/x?a=1', body: '{"k":1}' }),
      indexLoaded: false,
      samePool: true,
      sameRequest: true,
    });
  });
});

describe('request', () => {
  it("uses a dispatcher's own request when it has one", async () => {
    const seen: unknown[] = [];
    const own = {
      request: async (options: unknown) => {
        seen.push(options);
        return 'its own answer';
      },
    } as unknown as Dispatcher;
    const options = { origin: 'http://127.0.0.1:1', path: '/p', method: 'POST' } as const;
    expect(await request(own, options)).toBe('its own answer');
    expect(seen).toEqual([options]);
  });

  it("else undici's request over the dispatcher's dispatch", async () => {
    const dispatched: Dispatcher.DispatchOptions[] = [];
    const bare = {
      dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
        dispatched.push(options);
        handler.onConnect?.(() => undefined);
        handler.onHeaders?.(200, [], () => undefined, 'OK');
        handler.onData?.(Buffer.from('answered'));
        handler.onComplete?.([]);
        return true;
      },
    } as unknown as Dispatcher;
    const answer = await request(bare, {
      origin: 'http://127.0.0.1:1',
      path: '/v4/x',
      method: 'POST',
      body: 'b',
    });
    expect(answer.statusCode).toBe(200);
    expect(await answer.body.text()).toBe('answered');
    expect(dispatched).toMatchObject([
      { origin: 'http://127.0.0.1:1', path: '/v4/x', method: 'POST', body: 'b' },
    ]);
  });
});
