import { channel } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { isSyncError } from '../../src/errors.js';
import { TencentClient, type TencentClientOptions } from '../../src/tencent/client.js';
import { expectSend, withSendHook } from '../../src/tencent/send-hook.js';

// The send hook's bookkeeping: a hook fires once, for its own request, and never after the request
// is over. undici's `undici:client:sendHeaders` messages are published by hand here. The test that
// needs the channel subscribed comes first: the module subscribes once, on its first hooked request,
// and Stryker's per-test coverage credits that line to the first test that gets there.

const sendHeaders = channel('undici:client:sendHeaders');
const publish = (path: string) => sendHeaders.publish({ request: { path } });

describe('send hook', () => {
  it('each request calls its own hook once; a request that is over leaves a later one on its path alone', () => {
    const calls: string[] = [];
    const first = withSendHook(
      () => calls.push('first'),
      () => expectSend('/v4/recentcontact/x?random=1'),
    );
    const second = withSendHook(
      () => calls.push('second'),
      () => expectSend('/v4/recentcontact/x?random=1'),
    );
    first();
    publish('/v4/recentcontact/x?random=1');
    publish('/v4/recentcontact/x?random=1');
    second();
    expect(calls).toEqual(['second']);
    // Outside withSendHook nothing is registered.
    expectSend('/v4/recentcontact/x?random=2')();
    publish('/v4/recentcontact/x?random=2');
    expect(calls).toEqual(['second']);
  });

  it('a request that failed before it was sent never calls its hook afterwards', async () => {
    const paths: string[] = [];
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const dispatcher = {
      request: (options: { path: string }) => {
        paths.push(options.path);
        return Promise.reject(refused);
      },
    } as unknown as NonNullable<TencentClientOptions['dispatcher']>;
    const c = new TencentClient({
      sdkAppId: 1400000000,
      secretKey: 'k'.repeat(64),
      endpoint: 'http://127.0.0.1:9',
      dispatcher,
    });
    let calls = 0;
    const err = await withSendHook(
      () => {
        calls++;
      },
      () => c.getGroupsPage('u', 0).catch((e: unknown) => e),
    );
    expect(isSyncError(err, 'TRANSPORT')).toBe(true);
    expect(paths).toHaveLength(1);
    publish(paths[0] as string);
    expect(calls).toBe(0);
    await c.close();
  });
});
