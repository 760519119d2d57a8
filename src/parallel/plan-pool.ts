import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SyncError, type SyncErrorCode } from '../errors.js';
import { type PlanUnit, type PlanUnitOptions, type PlanUnitResult, planUnit } from './plan-units.js';

/** The compiled worker entry; absent when running from the TypeScript sources (tests). */
const WORKER_FILE = fileURLToPath(new URL('./plan-worker.js', import.meta.url));

/** Worker threads by default: one per core, at most 4 (planning is memory-light, I/O-free CPU work). */
export function defaultPlanThreads(): number {
  return Math.min(4, availableParallelism());
}

interface Job {
  readonly id: number;
  readonly unit: PlanUnit;
  readonly resolve: (result: PlanUnitResult) => void;
  readonly reject: (error: Error) => void;
}

interface Lane {
  readonly worker: Worker;
  job: Job | undefined;
}

/**
 * Plans units on worker threads, first come first served, each thread one unit at a time.
 * Threads start on the first unit. With `threads` 0, or without the compiled worker file, units are
 * planned on this thread, one after another. After {@link joinIn}, this thread is one more lane.
 */
export class PlanPool {
  readonly #options: PlanUnitOptions;
  readonly #threads: number;
  readonly #lanes: Lane[] = [];
  readonly #queue: Job[] = [];
  #nextId = 0;
  #inThread: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** This thread takes units too (see {@link joinIn}). */
  #joined = false;
  /** The unit this thread is planning as a lane. */
  #here: Job | undefined;

  constructor(options: PlanUnitOptions, threads = defaultPlanThreads()) {
    if (!Number.isInteger(threads) || threads < 0) {
      throw new SyncError('USAGE', `Expected \`threads\` to be an integer from 0 and up, got ${threads}`);
    }
    this.#options = options;
    this.#threads = threads > 0 && existsSync(WORKER_FILE) ? threads : 0;
  }

  /** Threads in use (0: this thread). */
  get threads(): number {
    return this.#threads;
  }

  run(unit: PlanUnit): Promise<PlanUnitResult> {
    if (this.#closed) return Promise.reject(new Error('PlanPool: run() after close()'));
    if (this.#threads === 0) {
      const result = this.#inThread.then(() => planUnit(unit, this.#options));
      this.#inThread = result.catch(() => undefined);
      return result;
    }
    return new Promise<PlanUnitResult>((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, unit, resolve, reject });
      this.#dispatch();
    });
  }

  /**
   * From now on this thread plans units too, one at a time, when no worker thread is free: for when it
   * has nothing else to do (the file was read), so one worker fewer has to start. Its units give way to
   * the event loop every few hundred users, so the worker threads are handed their next unit at once.
   */
  joinIn(): void {
    if (this.#threads === 0 || this.#joined) return;
    this.#joined = true;
    this.#dispatch();
  }

  /** Starts the threads now (their start-up then overlaps other work), instead of on the first unit. */
  warm(): void {
    while (!this.#closed && this.#lanes.length < this.#threads) this.#start();
  }

  /** Rejects the units not started yet (those in progress go on). */
  dropQueued(): void {
    const dropped = new Error('PlanPool: unit dropped');
    for (const job of this.#queue.splice(0)) job.reject(dropped);
  }

  /** Stops the threads; units not finished are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    const failed = new Error('PlanPool closed');
    for (const job of this.#queue.splice(0)) job.reject(failed);
    // A unit planned here cannot be stopped: its result is ignored.
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

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let lane = this.#lanes.find((l) => l.job === undefined);
      if (lane === undefined && this.#lanes.length < this.#threads) lane = this.#start();
      if (lane === undefined) {
        if (this.#joined && this.#here === undefined && !this.#closed) this.#planHere(this.#queue.shift()!);
        return;
      }
      const job = this.#queue.shift()!;
      lane.job = job;
      lane.worker.postMessage({ id: job.id, unit: job.unit });
    }
  }

  #planHere(job: Job): void {
    this.#here = job;
    planUnit(job.unit, this.#options, { yieldEvery: YIELD_EVERY })
      .then(job.resolve, job.reject)
      .finally(() => {
        if (this.#here === job) this.#here = undefined;
        if (!this.#closed) this.#dispatch();
      });
  }

  #start(): Lane {
    const worker = new Worker(WORKER_FILE, {
      workerData: { options: this.#options },
      // A unit's garbage is short-lived: a small young generation keeps each thread's peak memory
      // low (10M shuffled rows on 2 threads: 306 MB peak RSS with V8's default, 257 MB with 8 MB).
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
    });
    const lane: Lane = { worker, job: undefined };
    worker.on('message', (message: { id: number; result?: PlanUnitResult; error?: WorkerError }) => {
      const job = lane.job;
      if (job === undefined || job.id !== message.id) return;
      lane.job = undefined;
      if (message.error !== undefined) job.reject(toError(message.error));
      else job.resolve(message.result as PlanUnitResult);
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
      if (!this.#closed) crash(new Error(`A planning thread stopped (exit code ${code})`));
    });
    this.#lanes.push(lane);
    return lane;
  }
}

/** Users planned on this thread between turns of the event loop (a few ms). */
const YIELD_EVERY = 256;

interface WorkerError {
  readonly message: string;
  readonly code?: SyncErrorCode;
}

function toError(error: WorkerError): Error {
  return error.code === undefined ? new Error(error.message) : new SyncError(error.code, error.message);
}
