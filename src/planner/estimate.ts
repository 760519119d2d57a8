import type { Mode } from '../model.js';
import type { Endpoint } from '../tencent/wire.js';
import type { CallCounts } from './calls.js';

/** What the duration of an apply depends on besides its calls. */
export interface EstimateOptions {
  readonly mode: Mode;
  readonly assumeEmpty: boolean;
  /** Calls per second per endpoint. */
  readonly rate: number;
  /**
   * Time one call takes, from its start to its answer (measured by `plan` from its reads, or given with
   * `--latency`).
   * @default 0
   */
  readonly latencyMs?: number;
  /**
   * Calls per second this machine reached with the service while reading (all endpoints together; the
   * plan's own reads): a cap that counts what the model does not (CPU, the network), when it is lower.
   * @default no cap
   */
  readonly observedRate?: number;
  /**
   * Users in flight while writing (`apply --concurrency`).
   * @default 60
   */
  readonly concurrency?: number;
  /**
   * Users whose state is read at once (the read phase).
   * @default 40
   */
  readonly readConcurrency?: number;
}

/** How long an apply should take, and where the time goes. */
export interface DurationEstimate {
  /** The whole run's calls: read phase plus write phase (mirror), or both at once (merge). */
  readonly seconds: number;
  /** Mirror's read phase (every user read before the first write); 0 otherwise. */
  readonly readSeconds: number;
  /** The writes (merge: reads and writes together). */
  readonly writeSeconds: number;
  readonly latencyMs: number;
  readonly concurrency: number;
}

const READ: Endpoint = 'get_contact_group';

/** Users in flight by default (apply's `--concurrency`). */
export const DEFAULT_CONCURRENCY = 60;
/** Reads in flight in the read phase (planUsers' `readConcurrency`). */
export const DEFAULT_READ_CONCURRENCY = 40;

/**
 * A phase's duration: each endpoint at its rate, in parallel, and no faster than `inFlight` calls per
 * latency allow (each user's calls follow one another), plus one latency for the last answer.
 */
function phaseSeconds(
  calls: readonly (readonly [Endpoint, number])[],
  rate: number,
  latencySeconds: number,
  inFlight: number,
  observedRate: number,
): number {
  let total = 0;
  let busiest = 0;
  for (const [, n] of calls) {
    total += n;
    busiest = Math.max(busiest, n);
  }
  if (total === 0) return 0;
  return Math.max(busiest / rate, (total * latencySeconds) / inFlight, total / observedRate) + latencySeconds;
}

/**
 * The time an apply of these calls should take (a model, not a promise; retries not counted):
 * - mirror reads every user first and writes only after the deletion guard: the read phase and the
 *   write phase add up;
 * - merge reads a user just before its writes, so reads and writes overlap;
 * - within a phase, every endpoint runs at `rate` in parallel, and the calls in flight
 *   (`concurrency` users writing, `readConcurrency` reading) cap it at in-flight / latency calls per
 *   second, and so does `observedRate` (what the plan's own reads reached) when it is lower.
 */
export function estimateApply(calls: Readonly<CallCounts>, options: EstimateOptions): DurationEstimate {
  const rate = options.rate;
  if (!(Number.isFinite(rate) && rate > 0)) {
    throw new RangeError(`Expected \`rate\` to be a number above 0, got \`${rate}\``);
  }
  const latencyMs = options.latencyMs ?? 0;
  if (!(Number.isFinite(latencyMs) && latencyMs >= 0)) {
    throw new RangeError(`Expected \`latencyMs\` to be a number from 0 and up, got \`${latencyMs}\``);
  }
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const readConcurrency = options.readConcurrency ?? DEFAULT_READ_CONCURRENCY;
  const latency = latencyMs / 1000;
  const observed = options.observedRate ?? Number.POSITIVE_INFINITY;
  if (!(observed > 0)) {
    throw new RangeError(`Expected \`observedRate\` to be a number above 0, got \`${observed}\``);
  }
  const entries = Object.entries(calls) as [Endpoint, number][];
  const writes = entries.filter(([e]) => e !== READ);
  const reads = entries.filter(([e]) => e === READ);
  if (options.mode === 'mirror' && !options.assumeEmpty) {
    const readSeconds = phaseSeconds(reads, rate, latency, readConcurrency, observed);
    const writeSeconds = phaseSeconds(writes, rate, latency, concurrency, observed);
    return { seconds: readSeconds + writeSeconds, readSeconds, writeSeconds, latencyMs, concurrency };
  }
  // Merge: a user is read, then written; the readers feed the writers, so the slower of the two sets
  // the pace, and every endpoint keeps its own rate.
  const together = Math.max(
    phaseSeconds(entries, rate, 0, 1, observed),
    phaseSeconds(reads, rate, latency, readConcurrency, observed),
    phaseSeconds(writes, rate, latency, concurrency, observed),
  );
  return { seconds: together, readSeconds: 0, writeSeconds: together, latencyMs, concurrency };
}
