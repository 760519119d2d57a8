import { ENDPOINTS, type Endpoint } from '../../src/tencent/wire.js';
import type { EmulatorProcess } from './emulator-process.js';

/** Accepted calls per endpoint at one instant (ms, performance.now of this process). */
export interface StatsSample {
  readonly t: number;
  readonly accepted: Readonly<Record<Endpoint, number>>;
}

/** The busy period of one endpoint, as the emulator saw it. */
export interface BusyRate {
  /** Accepted calls in the whole run. */
  readonly accepted: number;
  /** Length of the measured stretch, s (first to last sample strictly inside the busy period). */
  readonly seconds: number;
  /** Accepted calls per second over that stretch. */
  readonly rate: number;
}

/**
 * Polls `GET /__emulator/stats` every `intervalMs` while a run goes on. The achieved rate of an
 * endpoint is measured between the first sample that already saw a call and the last sample before
 * the final count: both lie inside the busy period, so the process start-up and the CSV scan before
 * the first call, and the idle time after the last one, are left out, and the poll interval adds no
 * bias (it only shortens the stretch by up to two intervals).
 */
export function pollStats(emulator: EmulatorProcess, intervalMs = 100): { stop(): Promise<StatsSample[]> } {
  const samples: StatsSample[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const tick = performance.now();
      try {
        const stats = await emulator.stats();
        const accepted = {} as Record<Endpoint, number>;
        for (const e of ENDPOINTS) accepted[e] = stats.endpoints[e].accepted;
        samples.push({ t: performance.now(), accepted });
      } catch {
        // A missed sample only shortens the measured stretch.
      }
      const wait = intervalMs - (performance.now() - tick);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return samples;
    },
  };
}

/** The busy-period rate of `endpoint` from the samples (see {@link pollStats}); zeros when idle. */
export function busyRate(samples: readonly StatsSample[], endpoint: Endpoint): BusyRate {
  const counts = samples.map((s) => s.accepted[endpoint]);
  const total = counts[counts.length - 1] ?? 0;
  const first = counts.findIndex((c) => c > 0);
  const final = counts.indexOf(total);
  const last = final - 1;
  if (first < 0 || last <= first) return { accepted: total, seconds: 0, rate: 0 };
  const seconds = ((samples[last] as StatsSample).t - (samples[first] as StatsSample).t) / 1000;
  return { accepted: total, seconds, rate: ((counts[last] as number) - (counts[first] as number)) / seconds };
}

/** Where the time of one run went, from the samples, ms since `t0` (the spawn of the client). */
export interface RunPhases {
  /** First sample that saw any call: start-up, CSV scan and the first call's latency before it. */
  readonly firstCallMs: number | undefined;
  /** First sample that saw the busiest endpoint's final count (its last call accepted). */
  readonly busiestDoneMs: number | undefined;
  /** First sample that saw every endpoint's final count. */
  readonly lastCallMs: number | undefined;
  /**
   * Calls accepted by the endpoint in each second from the first sample that saw any call (the first
   * bin includes what came before that sample; the last one is what is left, a part of a second).
   */
  readonly busiestPerSecond: readonly number[];
}

/** Splits a run into start-up, busy period and tail by the samples (resolution: the poll interval). */
export function runPhases(samples: readonly StatsSample[], t0: number, endpoint: Endpoint): RunPhases {
  const total = (s: StatsSample) => Object.values(s.accepted).reduce((a, b) => a + b, 0);
  const last = samples[samples.length - 1];
  if (last === undefined) {
    return { firstCallMs: undefined, busiestDoneMs: undefined, lastCallMs: undefined, busiestPerSecond: [] };
  }
  const at = (s: StatsSample | undefined) => (s === undefined ? undefined : s.t - t0);
  const first = samples.find((s) => total(s) > 0);
  const busiestDone = samples.find((s) => s.accepted[endpoint] === last.accepted[endpoint]);
  const allDone = samples.find((s) => total(s) === total(last));
  const perSecond: number[] = [];
  if (first !== undefined) {
    let mark = first.t;
    let counted = 0;
    for (const s of samples) {
      if (s.t < mark + 1000) continue;
      perSecond.push(s.accepted[endpoint] - counted);
      counted = s.accepted[endpoint];
      mark = s.t;
      if (counted === last.accepted[endpoint]) break;
    }
    if (counted < last.accepted[endpoint]) perSecond.push(last.accepted[endpoint] - counted);
  }
  return {
    firstCallMs: at(first),
    busiestDoneMs: at(busiestDone),
    lastCallMs: at(allDone),
    busiestPerSecond: perSecond,
  };
}
