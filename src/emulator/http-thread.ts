/**
 * Worker-thread entry of {@link serveOnThread}: the emulator's HTTP side (src/emulator/http-front.ts)
 * on its own thread, serving until the job is cancelled. It tells the parent thread when it listens
 * and asks it for the reply to every request (an answer that fails is an HTTP 500).
 */
import { serveJobs } from '../threads.js';
import { type HttpEvent, type HttpJob, type Reply, serveHttp } from './http-front.js';

serveJobs<HttpJob, void, HttpEvent, Reply | undefined>(async ({ host, port }, { tell, signal }) => {
  const serving = await serveHttp(host, port, async (request) => {
    // A copy of exactly the body: a small Buffer is a view of a shared pool, which would be cloned whole.
    const body = request.body === undefined ? undefined : new Uint8Array(request.body);
    const reply = await tell({ type: 'request', request: { ...request, body } });
    if (reply === undefined) throw new Error('the emulator gave no reply');
    return reply;
  });
  await tell({ type: 'listening', port: serving.port });
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await serving.close();
});
