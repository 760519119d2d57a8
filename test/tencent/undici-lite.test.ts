import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

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
