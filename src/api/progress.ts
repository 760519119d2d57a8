import { setMaxListeners } from 'node:events';
import { SyncError } from '../errors.js';
import type { LiveStats, ProgressSink } from '../executor/run-apply.js';
import { redactSecrets } from '../log.js';
import type { PlanSummary } from '../planner/summary.js';
import { type CompletionFields, completionFields, ProgressMeter } from '../sync/completion.js';
import type { GuardVerdict } from '../sync/guard.js';
import type { JobPhase } from '../sync/phase.js';

export type { JobPhase } from '../sync/phase.js';

/**
 * What a job tells `onProgress` while it runs (plain data, never a secret):
 * - `phase`: a phase begins (`scan` the input, `read` the app, `guard`, `write`, `flush`);
 * - `planned`: apply knows the plan's size before its first write (mirror mode, a plan file);
 * - `guard`: mirror's deletion guard decided;
 * - `progress`: apply's live figures, every `progressIntervalMs` while writing and once at the end,
 *   with the completion when a total is known: `done`/`total` in `unit` (`ops` against the plan's
 *   operations, `users` against the input's users of the shard), `percent`, `etaSeconds`, and
 *   `estimated` when the total is an estimate (`--stream` before the whole file was read);
 * - `warning`: something odd that does not stop the job (a listing whose flags disagree, a switch to the
 *   backup domain).
 */
export type ProgressEvent =
  | { readonly type: 'phase'; readonly phase: JobPhase }
  | {
      readonly type: 'planned';
      readonly users: number;
      readonly usersWithChanges: number;
      /** Writes the plan makes (create, update and delete calls). */
      readonly operations: number;
    }
  | {
      readonly type: 'guard';
      readonly ok: boolean;
      readonly removed: number;
      readonly examined: number;
      readonly allowed: number;
    }
  | ({ readonly type: 'progress'; readonly totalOperations?: number } & LiveStats & CompletionFields)
  | { readonly type: 'warning'; readonly message: string };

/** Receives a job's {@link ProgressEvent}s; what it throws is ignored (it cannot break the job). */
export type OnProgress = (event: ProgressEvent) => void;

/** The job hooks (`onPhase`, `onWarning`, `onGuard`, `onPlanned`) as events to `onProgress`. */
export class ProgressEvents {
  readonly #listener: OnProgress | undefined;
  readonly #intervalMs: number;

  constructor(listener: OnProgress | undefined, intervalMs: number) {
    this.#listener = listener;
    this.#intervalMs = intervalMs;
  }

  emit(event: ProgressEvent): void {
    try {
      this.#listener?.(event);
    } catch {
      // A listener's own error is its own: the job goes on.
    }
  }

  readonly onPhase = (phase: JobPhase): void => this.emit({ type: 'phase', phase });

  readonly onWarning = (message: string): void =>
    this.emit({ type: 'warning', message: redactSecrets(message) });

  readonly onGuard = (verdict: GuardVerdict): void =>
    this.emit({
      type: 'guard',
      ok: verdict.ok,
      removed: verdict.removed,
      examined: verdict.examined,
      allowed: verdict.allowed,
    });

  /** apply's `onPlanned`: tells the plan's size, and returns the sink of the live figures. */
  readonly onPlanned = (
    summary: PlanSummary | undefined,
    totals?: { readonly users?: number },
  ): ProgressSink | undefined => {
    const totalOperations = summary === undefined ? undefined : writesOf(summary);
    if (summary !== undefined) {
      this.emit({
        type: 'planned',
        users: summary.users,
        usersWithChanges: summary.usersWithChanges,
        operations: totalOperations ?? 0,
      });
    }
    if (this.#listener === undefined) return undefined;
    let timer: NodeJS.Timeout | undefined;
    let read: (() => LiveStats) | undefined;
    const meter = new ProgressMeter({
      ...(totalOperations === undefined ? {} : { ops: totalOperations }),
      ...(totals?.users === undefined ? {} : { users: totals.users }),
    });
    const tell = (): void => {
      if (read !== undefined) {
        const stats = read();
        const { completion, etaMs } = meter.sample(stats);
        this.emit({
          type: 'progress',
          ...stats,
          ...(totalOperations === undefined ? {} : { totalOperations }),
          ...completionFields(completion, etaMs),
        });
      }
    };
    return {
      start: (reader) => {
        read = reader;
        timer = setInterval(tell, this.#intervalMs);
        timer.unref();
      },
      stop: () => {
        clearInterval(timer);
        tell();
        read = undefined;
      },
    };
  };
}

function writesOf(summary: PlanSummary): number {
  const c = summary.calls as Readonly<Record<string, number>>;
  return (c.create_contact_group ?? 0) + (c.update_contact_group ?? 0) + (c.del_contact_group ?? 0);
}

/**
 * The job's own signal, aborted with `SyncError('INTERRUPTED')` when the caller's is (whatever its
 * reason), as the CLI's signals are: every phase then stops the way it stops on SIGTERM.
 */
export function linkSignal(signal: AbortSignal | undefined): {
  readonly signal: AbortSignal | undefined;
  dispose(): void;
} {
  if (signal === undefined) return { signal: undefined, dispose: () => undefined };
  const controller = new AbortController();
  // Every waiting call listens to the run's signal: hundreds of listeners are expected.
  setMaxListeners(0, controller.signal);
  const stop = (): void =>
    controller.abort(new SyncError('INTERRUPTED', 'stopped by the caller (its AbortSignal was aborted)'));
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  return { signal: controller.signal, dispose: () => signal.removeEventListener('abort', stop) };
}
