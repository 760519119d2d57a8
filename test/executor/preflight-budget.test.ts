import { describe, expect, it } from 'vitest';
import { AccessCheckedApi, afterAccessCheck } from '../../src/executor/preflight.js';
import { type CallGate, createEndpointLimiters } from '../../src/executor/rate/limiters.js';
import type { Endpoint } from '../../src/tencent/wire.js';
import { FakeChatApi } from './fake-api.js';

/**
 * The credentials check is one of the run's calls: it takes its turn in the endpoint's budget (the
 * window gate, a shared Redis gate) and is counted; calls of the budget wait for it before they take
 * a slot, so callers holding every slot cannot starve it.
 */
describe('the credentials check goes through the budget', () => {
  it('is counted and passes the gate like any call, before the first real call', async () => {
    const acquired: Endpoint[] = [];
    const gate: CallGate = {
      acquire: async (endpoint) => {
        acquired.push(endpoint);
      },
    };
    const inner = createEndpointLimiters({ rate: 100, gate });
    const fake = new FakeChatApi();
    const checked = new AccessCheckedApi(fake, { admin: 'administrator', target: 'fake', scheduler: inner });
    const scheduler = afterAccessCheck(inner, checked);
    await scheduler.schedule('create_contact_group', () => checked.createGroup('u', 'g', []));
    expect(acquired).toEqual(['get_contact_group', 'create_contact_group']);
    expect(scheduler.stats.callsByEndpoint()).toMatchObject({
      get_contact_group: 1,
      create_contact_group: 1,
    });
    await inner.stop();
  });

  it('calls holding every slot of get_contact_group do not starve it (one slot, three calls at once)', async () => {
    const inner = createEndpointLimiters({ rate: 100, maxConcurrent: 1 });
    const fake = new FakeChatApi();
    const checked = new AccessCheckedApi(fake, { admin: 'administrator', target: 'fake', scheduler: inner });
    const scheduler = afterAccessCheck(inner, checked);
    const reads = ['a', 'b', 'c'].map((u) =>
      scheduler.schedule('get_contact_group', () => checked.getGroupsPage(u, 0)),
    );
    const settled = await Promise.race([
      Promise.all(reads).then(() => 'done'),
      new Promise((resolve) => setTimeout(() => resolve('stuck'), 3000)),
    ]);
    expect(settled).toBe('done');
    expect(scheduler.stats.callsByEndpoint().get_contact_group).toBe(4);
    await inner.stop();
  });

  it('a call whose signal aborts while the check is under way rejects at once', async () => {
    const inner = createEndpointLimiters({ rate: 100 });
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    class SlowApi extends FakeChatApi {
      override async getGroupsPage(user: string, start: number) {
        await held;
        return super.getGroupsPage(user, start);
      }
    }
    const api = new SlowApi();
    const checked = new AccessCheckedApi(api, { admin: 'administrator', target: 'fake', scheduler: inner });
    const scheduler = afterAccessCheck(inner, checked);
    const controller = new AbortController();
    const call = scheduler.schedule(
      'create_contact_group',
      () => checked.createGroup('u', 'g', []),
      controller.signal,
    );
    controller.abort(new Error('stop'));
    await expect(call).rejects.toThrow('stop');
    release();
    await checked.ready();
    expect(scheduler.stats.callsByEndpoint().create_contact_group).toBe(0);
    await inner.stop();
  });

  it('a call already stopped starts nothing and leaves no promise unhandled when the check fails', async () => {
    const inner = createEndpointLimiters({ rate: 100 });
    class Broken extends FakeChatApi {
      override async getGroupsPage(): Promise<never> {
        throw new Error('boom');
      }
    }
    const checked = new AccessCheckedApi(new Broken(), {
      admin: 'administrator',
      target: 'fake',
      scheduler: inner,
    });
    const scheduler = afterAccessCheck(inner, checked);
    const stopped = AbortSignal.abort(new Error('stopped'));
    await expect(
      scheduler.schedule('create_contact_group', () => checked.createGroup('u', 'g', []), stopped),
    ).rejects.toThrow('stopped');
    // The check was not started by it; when it runs and fails, its callers see why.
    expect(scheduler.stats.callsByEndpoint().get_contact_group).toBe(0);
    await expect(
      scheduler.schedule('create_contact_group', () => checked.createGroup('u', 'g', [])),
    ).rejects.toThrow('boom');
    await new Promise((resolve) => setTimeout(resolve, 20));
    await inner.stop();
  });
});
