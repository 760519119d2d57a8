import { abortReason, type Clock } from '../../src/executor/clock.js';

/** A clock whose sleeps resolve only when `advance` moves time past them. */
export class ManualClock implements Clock {
  t = 0;
  #timers: { at: number; fire: () => void }[] = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const timer = { at: this.t + ms, fire: resolve };
      this.#timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        reject(abortReason(signal));
      });
    });
  }

  /** Fires every timer due within `ms`, in time order, at its own time (or all at the end if `late`). */
  async advance(ms: number, late = false): Promise<void> {
    const end = this.t + ms;
    if (late) this.t = end;
    for (;;) {
      await quiet();
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.t = Math.max(this.t, due.at);
      due.fire();
    }
    this.t = end;
    await quiet();
  }
}

export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Lets chains of callbacks that each wait one macrotask (like the fake budget's answers) run out. */
export async function quiet(): Promise<void> {
  for (let i = 0; i < 10; i++) await settle();
}
