import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { ENDPOINTS } from '../../src/tencent/wire.js';
import { call, SDK_APP_ID, SECRET_KEY } from './http.js';
import { shapeOf, shapeProblems } from './shape.js';

interface Fixture {
  source: string;
  endpoint: string;
  state: unknown;
  request: unknown;
  response: Record<string, unknown>;
  /** True when the emulator's answer must equal the sample exactly (no marks or timestamps in it). */
  exact: boolean;
}

const dir = join(import.meta.dirname, '..', 'fixtures', 'api-samples');
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture] as const);

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ sdkAppId: SDK_APP_ID, secretKey: SECRET_KEY });
});
afterAll(async () => {
  await emu.close();
});

describe('official samples replayed against the emulator', () => {
  it('has one sample per endpoint, each naming its source', () => {
    expect(fixtures.map(([, f]) => f.endpoint).sort()).toEqual([...ENDPOINTS].sort());
    for (const [, f] of fixtures) expect(f.source).toMatch(/shared\//);
  });

  it.each(fixtures)('%s: the answer has the sample shape', async (_, f) => {
    emu.reset();
    const put = await fetch(`${emu.url}/__emulator/state`, { method: 'PUT', body: JSON.stringify(f.state) });
    expect(put.status).toBe(200);
    const res = await call(emu.url, f.endpoint, f.request);
    expect(res.status).toBe(200);
    expect(shapeProblems(res.json, shapeOf(f.response))).toEqual([]);
    if (f.exact) expect(res.json).toEqual(f.response);
    else {
      // The group data (not the marks and times) must still match the sample.
      const groupsOf = (body: Record<string, unknown>) => body.GroupItem;
      expect(groupsOf(res.json)).toEqual(groupsOf(f.response));
    }
  });
});

describe('the shape check itself', () => {
  const sample = shapeOf({
    A: [
      { Type: 1, To_Account: 'x', Ids: [1] },
      { Type: 2, ToGroupId: 'y' },
    ],
    B: 'text',
  });

  it('accepts keys present in only some sample items', () => {
    expect(shapeProblems({ A: [{ Type: 2, ToGroupId: 'z', Ids: [3] }], B: '' }, sample)).toEqual([]);
  });

  it('finds a missing key, an extra key, a wrong type and an empty array', () => {
    expect(shapeProblems({ A: [{ Type: 1 }] }, sample)).toEqual(['$.B: missing']);
    expect(shapeProblems({ A: [{ Type: 1, Extra: 1 }], B: '' }, sample)).toEqual([
      '$.A[0].Extra: not in the sample',
    ]);
    expect(shapeProblems({ A: [{ Type: '1' }], B: '' }, sample)).toEqual([
      '$.A[0].Type: expected number, got string',
    ]);
    expect(shapeProblems({ A: [], B: '' }, sample)).toEqual([
      '$.A: expected a non-empty array like the sample',
    ]);
  });
});
