import { availableParallelism } from 'node:os';
import { ThreadPool } from '../thread-pool.js';
import { workerFile } from '../threads.js';
import { type PlanUnit, type PlanUnitOptions, type PlanUnitResult, planUnit } from './plan-unit.js';

/** Planning threads by default: one per core, at most 4 (planning is memory-light, I/O-free CPU work). */
export function defaultPlanThreads(): number {
  return Math.min(4, availableParallelism());
}

/** Units planned on worker threads (plan-worker.ts), and on this thread after `joinIn()`. */
export type PlanPool = ThreadPool<PlanUnit, PlanUnitResult, never, void, PlanUnitOptions>;

/** Users planned on this thread between turns of the event loop (a few ms), so workers get their next unit at once. */
const YIELD_EVERY = 256;

/**
 * A pool of `threads` planning threads for the units of one run (`options`). With 0, units are
 * planned on this thread, one after another.
 */
export function createPlanPool(options: PlanUnitOptions, threads = defaultPlanThreads()): PlanPool {
  return new ThreadPool({
    name: 'planning thread',
    threads,
    ...(threads > 0 ? { entry: workerFile(import.meta.url, 'plan-worker') } : {}),
    data: options,
    local: (unit) => planUnit(unit, options, { yieldEvery: YIELD_EVERY }),
    // A unit's garbage is short-lived: a small young generation keeps each thread's peak memory
    // lower than V8's default does (measured with the 10M-row shuffled plan bench, FULL=1).
    resourceLimits: { maxYoungGenerationSizeMb: 8 },
  });
}
