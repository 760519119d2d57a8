import { describe, expect, it } from 'vitest';
import { checkOptions, is, toMaxDelete, toShard } from '../../src/api/check-options.js';
import {
  apply,
  createClient,
  credentialsFromEnv,
  exportState,
  plan,
  SyncError,
  startEmulator,
  verify,
} from '../../src/index.js';

const SECRET = 'k3y-0f-the-app-never-shown';

/** The SyncError a call rejects or throws with. */
async function refusal(run: () => Promise<unknown>): Promise<SyncError> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(SyncError);
    return err as SyncError;
  }
  throw new Error('expected a refusal');
}

describe('checkOptions', () => {
  const rules = { path: is.path(true), rate: is.rate(), mode: is.oneOf(['merge', 'mirror']) };

  it('refuses an unknown key, naming it and the known ones', () => {
    expect(() => checkOptions('job', { path: 'a.csv', rat: 5 }, rules)).toThrow(
      /job\(\): unknown option `rat` \(known: path, rate, mode\)/,
    );
  });

  it('names the option, what it must be and what was given, every problem at once', () => {
    let caught: unknown;
    try {
      checkOptions('job', { path: '', rate: 0, mode: 'MIRROR' }, rules);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SyncError);
    const e = caught as SyncError;
    expect(e.code).toBe('USAGE');
    expect(e.message).toContain('Expected `path` to be a path (a non-empty string), got `""` (string)');
    expect(e.message).toContain(
      'Expected `rate` to be a number of calls per second above 0 and at most 10000, got `0` (number)',
    );
    expect(e.message).toContain("Expected `mode` to be one of 'merge', 'mirror', got `\"MIRROR\"` (string)");
  });

  it('says when a required option is missing, and refuses what is not an object', () => {
    expect(() => checkOptions('job', {}, rules)).toThrow(/Expected `path` to be a path .*got nothing/);
    expect(() => checkOptions('job', 'a.csv', rules)).toThrow(
      /job\(\): Expected the options to be an object/,
    );
    expect(() => checkOptions('job', null, rules)).toThrow(/Expected the options to be an object/);
  });

  it('accepts good options, undefined meaning the default', () => {
    expect(() => checkOptions('job', { path: 'a.csv', rate: 0.5, mode: undefined }, rules)).not.toThrow();
  });

  it('reads shards and deletion limits in both spellings', () => {
    expect(toShard('1/4')).toEqual({ index: 1, count: 4 });
    expect(toShard({ index: 0, count: 2 })).toEqual({ index: 0, count: 2 });
    expect(toShard({ index: 2, count: 2 })).toBeUndefined();
    expect(toShard('4/4')).toBeUndefined();
    expect(toMaxDelete(500)).toEqual({ kind: 'count', value: 500 });
    expect(toMaxDelete('10%')).toEqual({ kind: 'percent', value: 10 });
    expect(toMaxDelete(-1)).toBeUndefined();
    expect(toMaxDelete('lots')).toBeUndefined();
  });
});

describe('the jobs check their options before any work', () => {
  it('createClient: a key is never shown, even when it is wrong', async () => {
    const e = await refusal(() =>
      createClient({ sdkAppId: 0, secretKey: SECRET, endpoint: 'http://127.0.0.1:1', extra: 1 } as never),
    );
    expect(e.code).toBe('USAGE');
    expect(e.message).toContain(
      'Expected `sdkAppId` to be an integer from 1 to 4294967295, got `0` (number)',
    );
    expect(e.message).toContain('unknown option `extra`');
    expect(e.message).not.toContain(SECRET);
    const typed = await refusal(() => createClient({ sdkAppId: 1, secretKey: 42 } as never));
    expect(typed.message).toContain('Expected `secretKey` to be a non-empty string, got a number');
    expect(typed.message).not.toContain('42');
  });

  it('createClient: one of region or endpoint, and a valid one', async () => {
    const both = await refusal(() =>
      createClient({ sdkAppId: 1, secretKey: SECRET, region: 'singapore', endpoint: 'http://127.0.0.1:1' }),
    );
    expect(both.message).toMatch(/give one of `region` or `endpoint`/);
    const none = await refusal(() => createClient({ sdkAppId: 1, secretKey: SECRET }));
    expect(none.message).toMatch(/give one of `region` or `endpoint`/);
    const region = await refusal(() =>
      createClient({ sdkAppId: 1, secretKey: SECRET, region: 'mars' as never }),
    );
    expect(region.message).toMatch(/Expected `region` to be one of 'china', .*got `"mars"`/);
    const plainHttp = await refusal(() =>
      createClient({ sdkAppId: 1, secretKey: SECRET, endpoint: 'http://example.com' }),
    );
    expect(plainHttp.code).toBe('CONFIG');
    expect(plainHttp.message).toMatch(/`endpoint`/);
  });

  it('plan, apply, verify, exportState: unknown keys, wrong types and a client not from createClient', async () => {
    const p = await refusal(() => plan({ input: 'a.csv', assumeEmpty: true, outt: 'x' } as never));
    expect(p.message).toMatch(/^plan\(\): unknown option `outt`/);
    const a = await refusal(() =>
      apply({ input: 'a.csv', checkpoint: 'c.log', client: {} as never, concurrency: 0, maxDelete: '200%' }),
    );
    expect(a.message).toContain('Expected `client` to be a client from createClient()');
    expect(a.message).toContain('Expected `concurrency` to be an integer from 1 to 10000, got `0` (number)');
    expect(a.message).toContain('Expected `maxDelete` to be a count of memberships');
    const missing = await refusal(() => apply({ input: 'a.csv' } as never));
    expect(missing.message).toContain('Expected `checkpoint` to be a path (a non-empty string), got nothing');
    expect(missing.message).toContain('Expected `client` to be a client from createClient(), got nothing');
    const v = await refusal(() => verify({ input: 'a.csv', client: {} as never, signal: 'stop' as never }));
    expect(v.message).toContain('Expected `signal` to be an AbortSignal, got `"stop"` (string)');
    const needsClient = await refusal(() => plan({ input: 'a.csv' }));
    expect(needsClient.message).toContain('plan(): Expected `client` to be a client from createClient()');
    const x = await refusal(() => exportState({ out: 'o.csv', client: {} as never, users: 'u1' as never }));
    expect(x.message).toContain('Expected `users` to be an iterable or async iterable of user IDs');
  });

  it('plan, apply and verify take the same ranges as the CLI for the options they share', async () => {
    // A plan must not accept what apply of the same CSV then refuses (--group-name-limit is 1-64).
    const p = await refusal(() => plan({ input: 'a.csv', assumeEmpty: true, groupNameLimit: 100 }));
    expect(p.message).toContain(
      'Expected `groupNameLimit` to be an integer from 1 to 64, got `100` (number)',
    );
    const a = await refusal(() =>
      apply({ input: 'a.csv', checkpoint: 'c.log', client: {} as never, groupNameLimit: 100 }),
    );
    expect(a.message).toContain('Expected `groupNameLimit` to be an integer from 1 to 64');
    const v = await refusal(() => verify({ input: 'a.csv', client: {} as never, groupNameLimit: 65 }));
    expect(v.message).toContain('Expected `groupNameLimit` to be an integer from 1 to 64');
  });

  it('startEmulator refuses an unknown option before it binds anything', async () => {
    const e = await refusal(() => startEmulator({ sdkAppId: 1, secretKey: SECRET, latency: 5 } as never));
    expect(e.code).toBe('USAGE');
    expect(e.message).toMatch(/startEmulator\(\): unknown option `latency` \(known: sdkAppId, .*latencyMs/);
  });
});

describe('credentialsFromEnv', () => {
  it('reads only the environment it is given, endpoint before region as the CLI does', () => {
    expect(
      credentialsFromEnv({
        TENCENT_SDKAPPID: '1400000000',
        TENCENT_SECRET_KEY: SECRET,
        TENCENT_REGION: 'singapore',
        TENCENT_ENDPOINT: 'http://127.0.0.1:9',
      }),
    ).toEqual({ sdkAppId: 1400000000, secretKey: SECRET, endpoint: 'http://127.0.0.1:9' });
    expect(
      credentialsFromEnv({
        TENCENT_SDKAPPID: '7',
        TENCENT_SECRET_KEY: SECRET,
        TENCENT_REGION: 'tokyo',
        TENCENT_ADMIN: 'ops',
      }),
    ).toEqual({ sdkAppId: 7, secretKey: SECRET, admin: 'ops', region: 'tokyo' });
  });

  it('names every variable missing or wrong, never the key', () => {
    expect(() => credentialsFromEnv({})).toThrow(
      /TENCENT_SDKAPPID is not set; TENCENT_SECRET_KEY is not set; neither TENCENT_ENDPOINT nor TENCENT_REGION is set/,
    );
    let message = '';
    try {
      credentialsFromEnv({ TENCENT_SDKAPPID: 'x1', TENCENT_SECRET_KEY: SECRET, TENCENT_REGION: 'mars' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/TENCENT_SDKAPPID must be a positive integer, got "x1"/);
    expect(message).toMatch(/TENCENT_REGION must be one of .*got "mars"/);
    expect(message).not.toContain(SECRET);
  });
});
