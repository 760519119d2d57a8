import type { Conversation } from '../model.js';
import type { ChatApi, GroupsPage, GroupWriteResult, MemberChanges, SearchResult } from '../tencent/api.js';

/** Samples kept: the median of the first reads is what the estimate needs; memory stays fixed. */
const MAX_SAMPLES = 1000;

/**
 * A ChatApi that times its reads (get_contact_group pages), from the call to the answer: the limiter's
 * wait is outside (the scheduler calls this only when the call may start), so what is measured is the
 * service's latency as this machine sees it. `plan` feeds the median to its duration estimate.
 */
export class LatencyMeter implements ChatApi {
  readonly #api: ChatApi;
  readonly #samples: number[] = [];

  constructor(api: ChatApi) {
    this.#api = api;
  }

  /** The median time of the reads timed so far, in ms; undefined before the first answer. */
  median(): number | undefined {
    if (this.#samples.length === 0) return undefined;
    const sorted = [...this.#samples].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const value = sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
    return Math.round((value ?? 0) * 10) / 10;
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

  createGroup(
    user: string,
    group: string,
    conversations: readonly Conversation[],
    signal?: AbortSignal,
  ): Promise<GroupWriteResult> {
    return this.#api.createGroup(user, group, conversations, signal);
  }

  updateGroupMembers(
    user: string,
    group: string,
    changes: MemberChanges,
    signal?: AbortSignal,
  ): Promise<GroupWriteResult> {
    return this.#api.updateGroupMembers(user, group, changes, signal);
  }

  renameGroup(
    user: string,
    oldName: string,
    newName: string,
    signal?: AbortSignal,
  ): Promise<{ groupId: number }> {
    return this.#api.renameGroup(user, oldName, newName, signal);
  }

  deleteGroup(user: string, group: string, signal?: AbortSignal): Promise<{ groupId: number }> {
    return this.#api.deleteGroup(user, group, signal);
  }

  searchGroups(
    user: string,
    conversations: readonly Conversation[],
    signal?: AbortSignal,
  ): Promise<SearchResult> {
    return this.#api.searchGroups(user, conversations, signal);
  }
}
