import { createRequire } from 'node:module';
import type { Dispatcher, Pool as UndiciPool } from 'undici';

/*
 * The two parts of undici the client uses, `Pool` and `request`, loaded from their own modules
 * instead of undici's index: the index loads all of undici (fetch, WebSocket, the caches, the mocks),
 * 2.5-3x the time of these two and what they need (measured: 270-570 ms against 120-180 ms on a
 * loaded 2-core machine), paid by every command before its first call. undici has no `exports` map,
 * so the paths are reachable; test/tencent/undici-lite.test.ts checks, in a process where undici's
 * index is never loaded, that they are what the index exports and that a request goes through, so
 * an upgrade that moves or changes them fails there.
 */
const require = createRequire(import.meta.url);

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
export type Pool = UndiciPool;

const requestOn = require('undici/lib/api/api-request.js') as (
  this: Dispatcher,
  options: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData>;

/**
 * `dispatcher.request(options)`: its own `request` when it has one (a dispatcher made by undici's
 * index, or any object given as the client's `dispatcher`), else undici's, which needs only `dispatch`
 * (a Pool loaded from its module has no `request`: the index adds it to every dispatcher).
 */
export function request(
  dispatcher: Dispatcher,
  options: Dispatcher.RequestOptions,
): Promise<Dispatcher.ResponseData> {
  const own = (dispatcher as Partial<Pick<Dispatcher, 'request'>>).request;
  return typeof own === 'function' ? dispatcher.request(options) : requestOn.call(dispatcher, options);
}
