/**
 * Virtual time for the whole process: `Date.now`, `setTimeout`/`setInterval` and their clears are
 * replaced while installed, so code that reads the system clock (Bottleneck, the executor's
 * systemClock, p-queue) runs on a timeline the test drives, in milliseconds that cost nothing.
 *
 * Unlike vitest's fake timers it can *stall*: {@link VirtualTime.stall} moves time on without
 * firing anything, as a blocked event loop or a paused process (a long GC, SIGSTOP, a VM migration)
 * does; the timers that fell due meanwhile then fire late, in order, at the new time. That is the
 * condition under which spacing calls by timers alone lets them bunch up.
 *
 * `setImmediate`, `queueMicrotask` and promises stay real: between two timers the microtask queue is
 * drained completely. Timers are never shorter than 1 ms, as in Node.
 */
export interface VirtualTime {
  /** The current virtual time in ms (`Date.now()` answers it rounded down). */
  now(): number;
  /** Fires timers in time order up to `until` (inclusive); then time is `until`. */
  runUntil(until: number): Promise<void>;
  /** The event loop is blocked for `ms`: time jumps, nothing fires now; overdue timers fire late. */
  stall(ms: number): void;
  /** Puts back the real clock and timers. */
  uninstall(): void;
}

interface Timer {
  readonly id: number;
  at: number;
  readonly seq: number;
  readonly fn: (...args: unknown[]) => void;
  readonly args: unknown[];
  readonly every?: number;
}

const real = {
  setTimeout: globalThis.setTimeout,
  clearTimeout: globalThis.clearTimeout,
  setInterval: globalThis.setInterval,
  clearInterval: globalThis.clearInterval,
  setImmediate: globalThis.setImmediate,
  dateNow: Date.now,
};

/** Replaces the process's clock and timers with virtual ones starting at `start` ms. */
export function installVirtualTime(start = 1_700_000_000_000): VirtualTime {
  let now = start;
  let seq = 0;
  let nextId = 1;
  const timers = new Map<number, Timer>();

  const handle = (id: number) => {
    const h = {
      ref: () => h,
      unref: () => h,
      hasRef: () => true,
      refresh: () => h,
      [Symbol.toPrimitive]: () => id,
    };
    return h;
  };
  const add = (fn: unknown, ms: unknown, args: unknown[], every: boolean) => {
    if (typeof fn !== 'function') throw new TypeError('virtual time: the callback must be a function');
    const delay = Math.max(1, Number(ms) || 0);
    const id = nextId++;
    timers.set(id, {
      id,
      at: now + delay,
      seq: seq++,
      fn: fn as Timer['fn'],
      args,
      ...(every ? { every: delay } : {}),
    });
    return handle(id);
  };
  const clear = (h: unknown) => {
    if (h === undefined || h === null) return;
    timers.delete(Number(h));
  };
  const g = globalThis as unknown as Record<string, unknown>;
  g.setTimeout = (fn: unknown, ms?: unknown, ...args: unknown[]) => add(fn, ms, args, false);
  g.setInterval = (fn: unknown, ms?: unknown, ...args: unknown[]) => add(fn, ms, args, true);
  g.clearTimeout = clear;
  g.clearInterval = clear;
  Date.now = () => Math.floor(now);

  const settle = () => new Promise<void>((resolve) => real.setImmediate(resolve));
  const earliest = (): Timer | undefined => {
    let best: Timer | undefined;
    for (const t of timers.values()) {
      if (best === undefined || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  };
  /** Fires the next timer due by `until`; false when there is none. */
  const step = async (until: number): Promise<boolean> => {
    await settle();
    const next = earliest();
    if (next === undefined || next.at > until) return false;
    now = Math.max(now, next.at);
    if (next.every === undefined) timers.delete(next.id);
    else timers.set(next.id, { ...next, at: now + next.every, seq: seq++ });
    next.fn(...next.args);
    return true;
  };

  return {
    now: () => now,
    async runUntil(until) {
      while (await step(until)) {}
      now = Math.max(now, until);
      await settle();
    },
    stall(ms) {
      now += ms;
    },
    uninstall() {
      g.setTimeout = real.setTimeout;
      g.setInterval = real.setInterval;
      g.clearTimeout = real.clearTimeout;
      g.clearInterval = real.clearInterval;
      Date.now = real.dateNow;
    },
  };
}
