import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EndpointScheduler } from '../../src/executor/rate/limiters.js';
import { CallStats } from '../../src/executor/rate/stats.js';
import { runApplyJob } from '../../src/sync/apply-job.js';
import type { ChatApi, GroupWriteResult } from '../../src/tencent/api.js';
import { CANONICAL_HEADER, tempDir } from './fixtures.js';

/**
 * "Memory does not grow with input size" (issue 4), measured where a leak cannot hide: the V8 heap
 * after a full GC, early and late in one in-process apply of 24k users, with an API and a scheduler
 * that keep nothing (so whatever grows is the job's own). The soak's RSS samples are too coarse to
 * see a few hundred bytes per user; this is not.
 */
const USERS = 24_000;
/** Retained growth allowed between the two measurements (~80 bytes per user in between). */
const GROWTH_BOUND = 1.5 * 1024 * 1024;

/** A full GC on demand, without starting the worker with --expose-gc. */
function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Answers every call with success and remembers nothing. */
class ForgetfulApi implements ChatApi {
  writes = 0;
  constructor(private readonly onWrite: (n: number) => void) {}
  async createGroup(_user: string, group: string, conversations: readonly { type: 1 | 2; id: string }[]) {
    // A little latency, so the run's pull loop waits for room in its queue, as it does for real.
    await new Promise((r) => setTimeout(r, 5));
    this.onWrite(++this.writes);
    const items = conversations.map((conversation) => ({
      conversation,
      op: 'add' as const,
      resultCode: 0,
      resultInfo: '',
    }));
    return { groupId: 1, groupName: group, items, failed: [] } satisfies GroupWriteResult;
  }
  async updateGroupMembers(_user: string, group: string): Promise<GroupWriteResult> {
    this.onWrite(++this.writes);
    return { groupId: 1, groupName: group, items: [], failed: [] };
  }
  async renameGroup() {
    return { groupId: 1 };
  }
  async deleteGroup() {
    return { groupId: 1 };
  }
  async getGroupsPage() {
    return { groups: [], conversations: [], complete: true, nextStartIndex: 0 };
  }
  async searchGroups() {
    return { groups: [], conversations: [] };
  }
}

/** No pacing, no memory: every call runs at once. */
function passThroughScheduler(): EndpointScheduler {
  const stats = new CallStats();
  return {
    rate: 200,
    stats,
    schedule: (endpoint, fn) => {
      stats.of(endpoint).calls++;
      return fn();
    },
    reportRateLimited: () => undefined,
    reportSuccess: () => undefined,
    spacingMs: () => 0,
    stop: async () => undefined,
  };
}

describe('memory retained per user', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('retained');
  });
  afterAll(async () => {
    await dir?.remove();
  });

  // Guards two leaks found with heap snapshots (~430 bytes per user before the fix): the run loop's
  // Promise.race on a promise that settles only at the end (a reaction per user), and --state maps kept
  // even without --state.
  it('the heap after GC does not grow with the users applied (no --state)', async () => {
    const input = join(dir.path, 'users.csv');
    let csv = `${CANONICAL_HEADER}\n`;
    for (let u = 0; u < USERS; u++) csv += `user${String(u).padStart(6, '0')},Family,1,peer${u},\n`;
    await writeFile(input, csv);
    const gc = gcFunction();
    const heap: number[] = [];
    const api = new ForgetfulApi((n) => {
      if (n === 4_000 || n === USERS - 500) {
        gc();
        heap.push(process.memoryUsage().heapUsed);
      }
    });
    const result = await runApplyJob({
      input,
      checkpoint: join(dir.path, 'cp.ndjson'),
      mode: 'merge',
      assumeEmpty: false,
      api,
      scheduler: passThroughScheduler(),
      concurrency: 400,
    });
    expect(result.run?.users.done).toBe(USERS);
    expect(heap).toHaveLength(2);
    const [early, late] = heap as [number, number];
    expect(late - early, `heap after GC: ${early} → ${late} bytes`).toBeLessThanOrEqual(GROWTH_BOUND);
  }, 30_000);
});
