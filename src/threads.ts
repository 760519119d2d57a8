import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { isSyncError, SyncError, type SyncErrorCode, type SyncErrorContext } from './errors.js';

/**
 * The one protocol between a {@link ThreadPool} (src/thread-pool.ts) and its worker threads, and the
 * worker's side of it ({@link serveJobs}). A job goes to a worker; while it runs, the worker may
 * tell the parent events and wait for each answer (backpressure, or a question such as "how do I
 * answer this HTTP request?"); the job ends with one result or one error. Errors cross as
 * {@link ThreadError}: a SyncError keeps its code and context on the other side.
 */

/** An error as it crosses threads. */
export interface ThreadError {
  readonly message: string;
  readonly name?: string;
  /** Set for a SyncError. */
  readonly code?: SyncErrorCode;
  readonly context?: SyncErrorContext;
  readonly stack?: string;
}

/** Parent → worker. */
export type ToWorker<J> =
  | { readonly type: 'job'; readonly id: number; readonly job: J }
  | { readonly type: 'answer'; readonly event: number; readonly answer: unknown }
  | { readonly type: 'refused'; readonly event: number; readonly error: ThreadError }
  | { readonly type: 'cancel'; readonly id: number };

/** Worker → parent. */
export type FromWorker<E, R> =
  | { readonly type: 'event'; readonly id: number; readonly event: number; readonly payload: E }
  | { readonly type: 'done'; readonly id: number; readonly result: R }
  | { readonly type: 'failed'; readonly id: number; readonly error: ThreadError };

export function toThreadError(error: unknown): ThreadError {
  if (!(error instanceof Error)) return { message: String(error) };
  return {
    message: error.message,
    name: error.name,
    ...(isSyncError(error) ? { code: error.code, context: error.context } : {}),
    ...(error.stack === undefined ? {} : { stack: error.stack }),
  };
}

export function fromThreadError(error: ThreadError): Error {
  const made =
    error.code === undefined
      ? new Error(error.message)
      : new SyncError(error.code, error.message, { ...error.context });
  if (error.code === undefined && error.name !== undefined) made.name = error.name;
  // Where it was thrown, on the other thread.
  if (error.stack !== undefined) made.stack = error.stack;
  return made;
}

/**
 * The compiled file of the worker entry `name` that sits next to the module at `moduleUrl` (its
 * `import.meta.url`). Run from the build, it is the `.js` sibling. Run from the TypeScript sources
 * (the tests), it is the same file in the build (src/ → dist/, as tsconfig.build.json compiles it):
 * Node runs no TypeScript, so worker threads always run built code. A missing file is an error
 * (`SyncError('IO')`), never a quiet switch to one thread.
 */
export function workerFile(moduleUrl: string, name: string): string {
  let url = new URL(`./${name}.js`, moduleUrl);
  if (moduleUrl.endsWith('.ts')) {
    const at = url.pathname.lastIndexOf('/src/');
    if (at !== -1) {
      url = new URL(`${url.pathname.slice(0, at)}/dist/${url.pathname.slice(at + '/src/'.length)}`, url);
    }
  }
  const file = fileURLToPath(url);
  if (!existsSync(file)) {
    throw new SyncError(
      'IO',
      `The worker thread file ${file} is missing${moduleUrl.endsWith('.ts') ? ': run `npm run build` (worker threads run the built code)' : ': the installation is incomplete'}`,
      { path: file },
    );
  }
  return file;
}

/** What a job sees of its worker thread. */
export interface JobContext<E, A, D> {
  /** What the pool gave every worker (`ThreadPoolOptions.data`). */
  readonly data: D;
  /** Aborted when the parent cancels the job. */
  readonly signal: AbortSignal;
  /** Tells the parent `event`; resolves with its answer once the parent has handled it, rejects with its error. */
  tell(event: E): Promise<A>;
}

/**
 * The worker thread's side: runs each job the pool sends with `run` and sends back its result or
 * its error. Call once, from the worker entry module.
 */
export function serveJobs<J, R, E = never, A = void, D = undefined>(
  run: (job: J, context: JobContext<E, A, D>) => Promise<R>,
): void {
  const port = parentPort;
  if (port === null) throw new Error('serveJobs: this module runs as a worker thread');
  const data = (workerData as { data: D } | null)?.data as D;
  const waiting = new Map<number, { resolve: (answer: A) => void; reject: (error: Error) => void }>();
  const jobs = new Map<number, AbortController>();
  let nextEvent = 0;
  const post = (message: FromWorker<E, R>): void => port.postMessage(message);
  port.on('message', (message: ToWorker<J>) => {
    if (message.type === 'job') {
      const { id } = message;
      const controller = new AbortController();
      jobs.set(id, controller);
      const context: JobContext<E, A, D> = {
        data,
        signal: controller.signal,
        tell: (payload) =>
          new Promise<A>((resolve, reject) => {
            const event = nextEvent++;
            waiting.set(event, { resolve, reject });
            post({ type: 'event', id, event, payload });
          }),
      };
      Promise.resolve()
        .then(() => run(message.job, context))
        .then(
          (result) => post({ type: 'done', id, result }),
          (error: unknown) => post({ type: 'failed', id, error: toThreadError(error) }),
        )
        .finally(() => jobs.delete(id));
    } else if (message.type === 'cancel') {
      jobs.get(message.id)?.abort();
    } else {
      const pending = waiting.get(message.event);
      waiting.delete(message.event);
      if (message.type === 'answer') pending?.resolve(message.answer as A);
      else pending?.reject(fromThreadError(message.error));
    }
  });
}
