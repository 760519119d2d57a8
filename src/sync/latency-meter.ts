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
  #reads = 0;
  #firstStart = Number.POSITIVE_INFINITY;
  #lastEnd = 0;

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

  /** Reads timed so far (the first 1000 are kept for the median). */
  get samples(): number {
    return this.#samples.length;
  }

  /**
   * Reads answered per second from the first start to the last answer: what this machine and the
   * service reached together (rate, latency, CPU). Undefined before 100 reads over at least a second:
   * start-up would weigh too much.
   */
  throughput(): number | undefined {
    const seconds = (this.#lastEnd - this.#firstStart) / 1000;
    if (this.#reads < 100 || !(seconds >= 1)) return undefined;
    return Math.round((this.#reads / seconds) * 10) / 10;
  }

  async getGroupsPage(user: string, startIndex: number, signal?: AbortSignal): Promise<GroupsPage> {
    const started = performance.now();
    this.#firstStart = Math.min(this.#firstStart, started);
    const page = await this.#api.getGroupsPage(user, startIndex, signal);
    const ended = performance.now();
    this.#reads++;
    this.#lastEnd = Math.max(this.#lastEnd, ended);
    if (this.#samples.length < MAX_SAMPLES) this.#samples.push(ended - started);
    return page;
  }
}
