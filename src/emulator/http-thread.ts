/**
 * Worker-thread entry of {@link serveOnThread}: the emulator's HTTP side (src/emulator/http-front.ts)
 * on its own thread. Every request goes to the parent thread as `{ type: 'request', id, request }`
 * and is answered when the parent sends `{ type: 'reply', id, reply }` (or `failed`: HTTP 500).
 * `{ type: 'close' }` closes the server; `{ type: 'closed' }` says it is closed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  type FromHttpThread,
  type HttpServing,
  type HttpThreadData,
  ListenError,
  type Reply,
  serveHttp,
  type ToHttpThread,
} from './http-front.js';

const port = parentPort;
if (port === null) throw new Error('http-thread.js runs as a worker thread');
const data = workerData as HttpThreadData;
const post = (message: FromHttpThread): void => port.postMessage(message);

const pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
let nextId = 0;
let serving: HttpServing | undefined;

port.on('message', (message: ToHttpThread) => {
  if (message.type === 'close') {
    const closed = serving?.close() ?? Promise.resolve();
    closed.then(() => post({ type: 'closed' }));
    return;
  }
  const waiting = pending.get(message.id);
  pending.delete(message.id);
  if (message.type === 'reply') waiting?.resolve(message.reply);
  else waiting?.reject(new Error('the emulator failed to answer'));
});

serveHttp(data.host, data.port, (request) => {
  const id = nextId++;
  // A copy of exactly the body: a small Buffer is a view of a shared pool, which would be cloned whole.
  const body = request.body === undefined ? undefined : new Uint8Array(request.body);
  return new Promise<Reply>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    post({ type: 'request', id, request: { ...request, body } });
  });
}).then(
  (s) => {
    serving = s;
    post({ type: 'listening', port: s.port });
  },
  (error: unknown) => {
    const code = error instanceof ListenError ? error.code : undefined;
    post({ type: 'listen-error', code, message: error instanceof Error ? error.message : String(error) });
  },
);
