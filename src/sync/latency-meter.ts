import type { ChatApi, GroupsPage } from '../tencent/api.js';

/** Samples kept: the median of the first reads is what the estimate needs; memory stays fixed. */
const MAX_SAMPLES = 1000;

/**
 * Reads (get_contact_group pages) timed from the call to the answer: the limiter's wait is outside (the
 * scheduler calls this only when the call may start), so what is measured is the service's latency as
 * this machine sees it. `plan` feeds the median to its duration estimate.
 */
export class LatencyMeter implements Pick<ChatApi, 'getGroupsPage'> {
  readonly #api: Pick<ChatApi, 'getGroupsPage'>;
  readonly #samples: number[] = [];

  constructor(api: Pick<ChatApi, 'getGroupsPage'>) {
    this.#api = api;
  }

  /** The median time of the reads timed so far, in ms (0.1 ms steps); undefined before the first answer. */
  median(): number | undefined {
    if (this.#samples.length === 0) return undefined;
    const sorted = [...this.#samples].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const value =
      sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
    return Math.round(value * 10) / 10;
  }

  /** Reads timed so far. */
  get samples(): number {
    return this.#samples.length;
  }

  async getGroupsPage(user: string, startIndex: number, signal?: AbortSignal): Promise<GroupsPage> {
    const started = performance.now();
    const page = await this.#api.getGroupsPage(user, startIndex, signal);
    if (this.#samples.length < MAX_SAMPLES) this.#samples.push(performance.now() - started);
    return page;
  }
}
