import { type ResourceLimits, Worker } from 'node:worker_threads';
import { SyncError } from './errors.js';
import { type FromWorker, fromThreadError, type ToWorker, toThreadError } from './threads.js';

/** Options of a {@link ThreadPool}. */
export interface ThreadPoolOptions<J, R, D> {
  /** Names a thread in messages, e.g. `planning thread`. */
  readonly name: string;
  /** The worker entry's compiled file ({@link workerFile}); required from 1 thread up. */
  readonly entry?: string;
  /** Worker threads at most, started as jobs come (or by {@link ThreadPool.warm}). 0: jobs run here. */
  readonly threads: number;
  /** What every worker is given (`context.data` of its jobs). Plain data. */
  readonly data?: D;
  /** Runs a job on this thread: every job with 0 threads, and jobs no worker is free for after `joinIn()`. */
  readonly local?: (job: J) => Promise<R>;
  readonly resourceLimits?: ResourceLimits;
}

/** How one job is run. */
export interface RunOptions<E, A> {
  /** The job's events, answered with what this returns (the worker waits for the answer). */
  readonly onEvent?: (event: E) => A | Promise<A>;
  /** Cancels the job: dropped if it has not started, told to stop if it runs on a worker. */
  readonly signal?: AbortSignal;
}

interface Job<J, R, E, A> {
  readonly id: number;
  readonly job: J;
  readonly options: RunOptions<E, A>;
  readonly resolve: (result: R) => void;
  readonly reject: (error: Error) => void;
}

interface Lane<J, R, E, A> {
  readonly worker: Worker;
  job: Job<J, R, E, A> | undefined;
}

/**
 * Runs jobs on worker threads (src/threads.ts: the protocol, and `serveJobs` on the worker's side),
 * first come first served, each thread one job at a time. With `threads` 0, jobs run on this thread
 * (`local`), one after another. After {@link joinIn}, this thread is one more lane.
 */
export class ThreadPool<J, R, E = never, A = void, D = undefined> {
  readonly #options: ThreadPoolOptions<J, R, D>;
  readonly #lanes: Lane<J, R, E, A>[] = [];
  readonly #queue: Job<J, R, E, A>[] = [];
  #nextId = 0;
  #started = 0;
  #inThread: Promise<unknown> = Promise.resolve();
  #closed = false;
  #joined = false;
  /** The job this thread runs as a lane. */
  #here: Job<J, R, E, A> | undefined;

  constructor(options: ThreadPoolOptions<J, R, D>) {
    const { threads } = options;
    if (!Number.isInteger(threads) || threads < 0) {
      throw new SyncError('USAGE', `Expected \`threads\` to be an integer from 0 and up, got ${threads}`);
    }
    if (threads > 0 && options.entry === undefined) throw new TypeError('ThreadPool: `entry` is needed');
    if (threads === 0 && options.local === undefined) throw new TypeError('ThreadPool: `local` is needed');
    this.#options = options;
  }

  /** Worker threads at most (0: this thread). */
  get threads(): number {
    return this.#options.threads;
  }

  /** Worker threads started so far, restarts included. */
  get started(): number {
    return this.#started;
  }

  run(job: J, options: RunOptions<E, A> = {}): Promise<R> {
    if (this.#closed) return Promise.reject(new Error(`${this.#options.name}: run() after close()`));
    if (this.threads === 0) {
      const result = this.#inThread.then(() => this.#options.local!(job));
      this.#inThread = result.catch(() => undefined);
      return result;
    }
    return new Promise<R>((resolve, reject) => {
      const entry: Job<J, R, E, A> = { id: this.#nextId++, job, options, resolve, reject };
      const signal = options.signal;
      signal?.addEventListener('abort', () => this.#cancel(entry, signal.reason), { once: true });
      this.#queue.push(entry);
      this.#dispatch();
    });
  }

  /**
   * From now on this thread runs jobs too (`local`), one at a time, when no worker thread is free: for
   * when it has nothing else to do, so one worker fewer has to start.
   */
  joinIn(): void {
    if (this.threads === 0 || this.#joined || this.#options.local === undefined) return;
    this.#joined = true;
    this.#dispatch();
  }

  /** Starts the threads now (their start-up then overlaps other work), instead of on the first jobs. */
  warm(): void {
    while (!this.#closed && this.#lanes.length < this.threads) this.#start();
  }

  /** Rejects the jobs not started yet (those in progress go on). */
  dropQueued(): void {
    const dropped = new Error(`${this.#options.name}: job dropped`);
    for (const job of this.#queue.splice(0)) job.reject(dropped);
  }

  /** Stops the threads; jobs not finished are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    const failed = new Error(`${this.#options.name}: pool closed`);
    for (const job of this.#queue.splice(0)) job.reject(failed);
    // A job run here cannot be stopped: its result is ignored.
    this.#here?.reject(failed);
    this.#here = undefined;
    await Promise.all(
      this.#lanes.map(async (lane) => {
        lane.job?.reject(failed);
        lane.job = undefined;
        await lane.worker.terminate();
      }),
    );
    this.#lanes.length = 0;
  }

  #cancel(job: Job<J, R, E, A>, reason: unknown): void {
    const queued = this.#queue.indexOf(job);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      job.reject(reason instanceof Error ? reason : new Error(String(reason)));
      return;
    }
    const lane = this.#lanes.find((l) => l.job === job);
    lane?.worker.postMessage({ type: 'cancel', id: job.id } satisfies ToWorker<J>);
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let lane = this.#lanes.find((l) => l.job === undefined);
      if (lane === undefined && this.#lanes.length < this.threads) lane = this.#start();
      if (lane === undefined) {
        if (this.#joined && this.#here === undefined && !this.#closed) this.#runHere(this.#queue.shift()!);
        return;
      }
      const job = this.#queue.shift()!;
      lane.job = job;
      lane.worker.postMessage({ type: 'job', id: job.id, job: job.job } satisfies ToWorker<J>);
    }
  }

  #runHere(job: Job<J, R, E, A>): void {
    this.#here = job;
    this.#options.local!(job.job)
      .then(job.resolve, job.reject)
      .finally(() => {
        if (this.#here === job) this.#here = undefined;
        if (!this.#closed) this.#dispatch();
      });
  }

  #start(): Lane<J, R, E, A> {
    const { entry, data, resourceLimits, name } = this.#options;
    const worker = new Worker(entry!, {
      workerData: { data },
      ...(resourceLimits === undefined ? {} : { resourceLimits }),
    });
    this.#started++;
    const lane: Lane<J, R, E, A> = { worker, job: undefined };
    worker.on('message', (message: FromWorker<E, R>) => {
      const job = lane.job;
      if (job === undefined || job.id !== message.id) return;
      if (message.type === 'event') {
        this.#answer(worker, job, message.event, message.payload);
        return;
      }
      lane.job = undefined;
      if (message.type === 'failed') job.reject(fromThreadError(message.error));
      else job.resolve(message.result);
      this.#dispatch();
    });
    const crash = (error: Error): void => {
      const index = this.#lanes.indexOf(lane);
      if (index >= 0) this.#lanes.splice(index, 1);
      lane.job?.reject(error);
      lane.job = undefined;
      if (!this.#closed) this.#dispatch();
    };
    worker.on('error', crash);
    worker.on('exit', (code) => {
      if (!this.#closed) crash(new Error(`A ${name} stopped (exit code ${code})`));
    });
    this.#lanes.push(lane);
    return lane;
  }

  #answer(worker: Worker, job: Job<J, R, E, A>, event: number, payload: E): void {
    const onEvent = job.options.onEvent;
    const refuse = (error: unknown): void =>
      worker.postMessage({ type: 'refused', event, error: toThreadError(error) } satisfies ToWorker<J>);
    try {
      const answer = onEvent === undefined ? undefined : onEvent(payload);
      if (answer instanceof Promise) {
        answer.then((value) => worker.postMessage({ type: 'answer', event, answer: value }), refuse);
      } else worker.postMessage({ type: 'answer', event, answer } satisfies ToWorker<J>);
    } catch (error) {
      refuse(error);
    }
  }
}
