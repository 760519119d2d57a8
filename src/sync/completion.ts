import type { LiveStats } from '../executor/run-apply.js';

/**
 * The completion of an apply's writes, shared by the CLI's progress (bar and JSON lines) and the
 * library's `progress` events: done/total, percentage and ETA, against the plan's operations when they
 * are known before the first write (mirror, a plan file), else against the users the run settles
 * (`LiveStats.usersTotal`: a CSV's users, of the shard, counted before the first write).
 */

/** What an apply's progress counts against, when known before the run starts. */
export interface ProgressTotals {
  /** Write operations planned (mirror, plan files). */
  readonly ops?: number;
  /** Users of the input; `LiveStats.usersTotal`, when the run tells it, takes its place. */
  readonly users?: number;
}

/** How far a run has come: against operations when their total is known, else against users. */
export interface Completion {
  readonly done: number;
  readonly total: number;
  readonly unit: 'ops' | 'users';
  /** Set when the total is an estimate (`--stream` before the whole file was read). */
  readonly estimated?: boolean;
}

/** Per-second rates over the last samples, keyed like the counters given to {@link RateMeter.add}. */
export type Rates = Readonly<Record<string, number>>;

/**
 * Rates of growing counters over a sliding window: pure (the caller gives the time of each sample).
 * A rate is the growth between the oldest sample still in the window and the newest, per second.
 */
export class RateMeter {
  readonly #windowMs: number;
  readonly #samples: { at: number; counters: Readonly<Record<string, number>> }[] = [];

  /** @param windowMs how far back the rate looks. @default 5000 */
  constructor(windowMs = 5000) {
    this.#windowMs = windowMs;
  }

  /** Adds a sample taken at `at` ms and returns each counter's rate per second. */
  add(at: number, counters: Readonly<Record<string, number>>): Rates {
    this.#samples.push({ at, counters: { ...counters } });
    while (this.#samples.length > 2 && (this.#samples[1] as { at: number }).at <= at - this.#windowMs) {
      this.#samples.shift();
    }
    const first = this.#samples[0] as { at: number; counters: Readonly<Record<string, number>> };
    const span = at - first.at;
    const rates: Record<string, number> = {};
    for (const [key, value] of Object.entries(counters)) {
      rates[key] = span > 0 ? ((value - (first.counters[key] ?? 0)) * 1000) / span : 0;
    }
    return rates;
  }
}

/** Users settled so far: done, failed, skipped, done before, unchanged. */
export function usersSettled(stats: LiveStats): number {
  return (
    stats.usersDone +
    stats.usersFailed +
    stats.usersSkipped +
    stats.usersAlreadyDone +
    (stats.usersUnchanged ?? 0)
  );
}

/**
 * Completion against operations when their total is known, else users (the run's `usersTotal`, else
 * `totals.users`), else none. The total is never below what is done (users that vanished from the
 * input, mirror with --state, come on top of the input's), so it never passes 100%.
 */
export function completionOf(stats: LiveStats, totals: ProgressTotals): Completion | undefined {
  if (totals.ops !== undefined && totals.ops > 0) {
    const done = stats.opsOk + stats.opsFailed;
    return { done, total: Math.max(totals.ops, done), unit: 'ops' };
  }
  const users = stats.usersTotal ?? totals.users;
  if (users !== undefined && users > 0) {
    const done = usersSettled(stats);
    return {
      done,
      total: Math.max(users, done),
      unit: 'users',
      ...(stats.usersTotal !== undefined && stats.usersTotalEstimated === true ? { estimated: true } : {}),
    };
  }
  return undefined;
}

/** Time left at `perSecond` units a second; undefined when it cannot be told (never negative). */
export function etaMs(c: Completion | undefined, perSecond: number): number | undefined {
  if (c === undefined || !(perSecond > 0) || c.done >= c.total) return undefined;
  const ms = ((c.total - c.done) / perSecond) * 1000;
  return Number.isFinite(ms) ? ms : undefined;
}

export function percentOf(c: Completion): number {
  return Math.min(100, Math.floor((c.done / c.total) * 100));
}

/** The completion's fields of a JSON progress line or event: `done`, `total`, `unit`, `percent`, `estimated`, `etaSeconds`. */
export interface CompletionFields {
  readonly done?: number;
  readonly total?: number;
  readonly unit?: 'ops' | 'users';
  readonly percent?: number;
  /** Present (true) when the total is an estimate. */
  readonly estimated?: true;
  readonly etaSeconds?: number;
}

export function completionFields(c: Completion | undefined, eta: number | undefined): CompletionFields {
  return {
    ...(c === undefined
      ? {}
      : {
          done: c.done,
          total: c.total,
          unit: c.unit,
          percent: percentOf(c),
          ...(c.estimated === true ? { estimated: true as const } : {}),
        }),
    ...(eta === undefined ? {} : { etaSeconds: Math.round(eta / 1000) }),
  };
}

/** One sample of a run's live figures: the rates, and the completion with its ETA. */
export interface ProgressSample {
  /** Per second: each endpoint's calls, `#ops` and `#users` (settled). */
  readonly rates: Rates;
  readonly completion: Completion | undefined;
  readonly etaMs: number | undefined;
}

/** Samples a run's live figures over time: rates over a sliding window, completion and ETA. */
export class ProgressMeter {
  readonly #meter: RateMeter;
  readonly #totals: ProgressTotals;

  constructor(totals: ProgressTotals = {}, windowMs?: number) {
    this.#totals = totals;
    this.#meter = new RateMeter(windowMs);
  }

  sample(stats: LiveStats): ProgressSample {
    const rates = this.#meter.add(stats.elapsedMs, {
      ...stats.endpointCalls,
      '#ops': stats.opsOk + stats.opsFailed,
      '#users': usersSettled(stats),
    });
    const completion = completionOf(stats, this.#totals);
    const perSecond = completion?.unit === 'users' ? (rates['#users'] ?? 0) : (rates['#ops'] ?? 0);
    return { rates, completion, etaMs: etaMs(completion, perSecond) };
  }
}
