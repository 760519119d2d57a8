import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SyncError } from '../errors.js';
import { ThreadPool } from '../thread-pool.js';
import { workerFile } from '../threads.js';

/**
 * The emulator's HTTP side: sockets, request bodies, arrival times, and answers sent after their
 * delay. It knows nothing of the API; {@link serveHttp} hands every request to an `answer` function
 * (the emulator's core, on this thread or, through src/emulator/http-thread.ts, on another).
 */

/** A request as the core sees it (plain data: it may cross threads). */
export interface EmulatorRequest {
  readonly method: string | undefined;
  /** The request target, e.g. `/v4/recentcontact/get_contact_group?sdkappid=…`. */
  readonly url: string;
  /** The whole body; undefined when it was larger than {@link MAX_BODY_BYTES}. */
  readonly body: Uint8Array | undefined;
  /** When its headers arrived, on the {@link monotonicMs} clock. */
  readonly arrivedAt: number;
}

/** What to do with a request `delayMs` after it arrived: answer it, or drop its connection. */
export type Reply =
  | { readonly kind: 'http'; status: number; type: string; text: string; delayMs: number }
  | { readonly kind: 'drop'; delayMs: number };

export type AnswerFn = (request: EmulatorRequest) => Reply | Promise<Reply>;

/** A listening front. */
export interface HttpServing {
  readonly port: number;
  /** Stops listening, drops keep-alive connections and answers not sent yet. */
  close(): Promise<void>;
}

export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Milliseconds on the process's monotonic clock: the same clock on every thread (unlike
 * `performance.now()`, whose origin is each thread's start).
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * Listens on `host:port` (0: a free port) and answers every request with `answer`. A request's
 * arrival time is taken when its headers are parsed, before its body is read; its answer is sent
 * `delayMs` after that (at once if `answer` took longer). When it cannot listen: `SyncError('CONFIG')`
 * naming the system's code (EADDRINUSE, EACCES…).
 */
export async function serveHttp(host: string, port: number, answer: AnswerFn): Promise<HttpServing> {
  const timers = new Set<NodeJS.Timeout>();
  const deliver = (req: IncomingMessage, res: ServerResponse, reply: Reply, arrivedAt: number): void => {
    const run = (): void => {
      if (reply.kind === 'drop') req.socket.destroy();
      else send(res, reply.status, reply.type, reply.text);
    };
    const wait = arrivedAt + reply.delayMs - monotonicMs();
    if (wait <= 0) {
      run();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, wait);
    timers.add(timer);
  };

  const server: Server = createServer((req, res) => {
    const arrivedAt = monotonicMs();
    readBody(req)
      .then((body) => answer({ method: req.method, url: req.url ?? '/', body, arrivedAt }))
      .then((reply) => deliver(req, res, reply, arrivedAt))
      .catch(() => {
        // A request whose socket died while its body was read has nobody to answer.
        if (!res.headersSent && !res.destroyed) send(res, 500, 'text/plain', 'internal emulator error');
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new SyncError('CONFIG', `Emulator cannot listen on ${host}:${port}: ${error.code ?? error.message}`),
      ),
    );
    server.listen(port, host, () => resolve());
  });

  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      closing ??= (async () => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}

/** The whole body, or `undefined` when it is larger than 1 MiB (it is read to the end either way). */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size <= MAX_BODY_BYTES) chunks.push(buffer);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, contentType: string, text: string): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The HTTP thread's one job (see src/emulator/http-thread.ts): serve until cancelled. */
export interface HttpJob {
  readonly host: string;
  readonly port: number;
}

/** What the HTTP thread tells: it listens (answered with nothing), a request (answered with its reply). */
export type HttpEvent =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'request'; readonly request: EmulatorRequest };

/**
 * {@link serveHttp} on a worker thread (src/emulator/http-thread.ts), `answer` on this one, through the
 * thread protocol of src/threads.ts. The HTTP thread's heap holds only the requests in flight, so its
 * garbage collection pauses are short, and pauses of this thread (whose heap may hold millions of
 * memberships) delay answers but no longer shift the arrival times the rate limiter counts. Requests
 * reach `answer` in arrival order. A crash of the HTTP thread after start-up is thrown on this thread:
 * the emulator fails loudly.
 */
export function serveOnThread(host: string, port: number, answer: AnswerFn): Promise<HttpServing> {
  const thread = new ThreadPool<HttpJob, void, HttpEvent, Reply | undefined>({
    name: "emulator's HTTP thread",
    threads: 1,
    entry: workerFile(import.meta.url, 'http-thread'),
  });
  const stop = new AbortController();
  let closing: Promise<void> | undefined;
  return new Promise<HttpServing>((resolve, reject) => {
    let started = false;
    const served = thread.run(
      { host, port },
      {
        signal: stop.signal,
        onEvent: (event) => {
          if (event.type === 'request') return answer(event.request);
          started = true;
          resolve({
            port: event.port,
            close() {
              closing ??= (async () => {
                stop.abort();
                await served.catch(() => undefined);
                await thread.close();
              })();
              return closing;
            },
          });
          return undefined;
        },
      },
    );
    served.catch((error: unknown) => {
      if (!started) {
        reject(error);
        thread.close().catch(() => undefined);
      } else if (closing === undefined) {
        process.nextTick(() => {
          throw error;
        });
      }
    });
  });
}
