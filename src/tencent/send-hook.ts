import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';

/**
 * "Tell me when this call leaves": a caller runs its API calls inside {@link withSendHook}, and each
 * HTTP request they make calls the hook when undici writes its headers to the socket (undici's
 * `undici:client:sendHeaders` diagnostics channel). The executor's window gate uses it to count a
 * call from when it really left, not from when the limiter released it.
 */
const current = new AsyncLocalStorage<() => void>();

/** Runs `fn`; every request made within it (also after `await`s) calls `onSend` as it is sent. */
export function withSendHook<T>(onSend: () => void, fn: () => T): T {
  return current.run(onSend, fn);
}

/** Hooks of requests on their way, by request path (unique: every path carries a random number). */
const waiting = new Map<string, () => void>();
let subscribed = false;

function onSendHeaders(message: unknown): void {
  const path = (message as { request?: { path?: unknown } }).request?.path;
  if (typeof path !== 'string') return;
  const hook = waiting.get(path);
  if (hook === undefined) return;
  waiting.delete(path);
  hook();
}

/**
 * @internal For the HTTP layer: registers the current hook (if any) for a request about to be
 * dispatched with `path`; returns the function to call when the request is over (sent or not).
 */
export function expectSend(path: string): () => void {
  const hook = current.getStore();
  if (hook === undefined) return noop;
  if (!subscribed) {
    subscribed = true;
    subscribe('undici:client:sendHeaders', onSendHeaders);
  }
  waiting.set(path, hook);
  return () => {
    if (waiting.get(path) === hook) waiting.delete(path);
  };
}

function noop(): void {}
