import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../src/executor/clock.js';
import type { CheckpointStore } from '../../src/executor/log/checkpoint.js';
import type { EndpointScheduler } from '../../src/executor/rate/limiters.js';
import { CallStats } from '../../src/executor/rate/stats.js';
import type { Conversation } from '../../src/model.js';
import type { Operation } from '../../src/planner/types.js';
import type { Endpoint } from '../../src/tencent/wire.js';

/** A clock whose sleeps resolve at once and advance its time; records every sleep. */
export class FakeClock implements Clock {
  time = 1_000_000;
  readonly sleeps: number[] = [];

  now(): number {
    return this.time;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.sleeps.push(ms);
    this.time += ms;
    await Promise.resolve();
  }
}

/** An EndpointScheduler without pacing that records what went through it, in order. */
export class RecordingScheduler implements EndpointScheduler {
  readonly rate: number;
  readonly stats = new CallStats();
  readonly scheduled: Endpoint[] = [];
  readonly rateLimited: Endpoint[] = [];
  readonly successes: Endpoint[] = [];

  /** @param rate what the budget says it allows (it does not pace). */
  constructor(rate = 200) {
    this.rate = rate;
  }

  async schedule<T>(endpoint: Endpoint, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw signal.reason;
    this.scheduled.push(endpoint);
    this.stats.of(endpoint).calls++;
    return fn();
  }

  reportRateLimited(endpoint: Endpoint): void {
    this.rateLimited.push(endpoint);
  }

  reportSuccess(endpoint: Endpoint): void {
    this.successes.push(endpoint);
  }

  spacingMs(): number {
    return 0;
  }

  async stop(): Promise<void> {}
}

export function conv(key: string): Conversation {
  return { type: key.startsWith('2:') ? 2 : 1, id: key.slice(2) };
}

function opId(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/**
 * A small planner for tests (the real one is src/planner): mirror or merge `desired` over `remote`
 * (group name → conversation keys), chunking items by `chunk`.
 */
export function planUser(
  user: string,
  desired: Record<string, readonly string[]>,
  remote: Record<string, readonly string[]> = {},
  options: { mode?: 'merge' | 'mirror'; chunk?: number } = {},
): Operation[] {
  const chunk = options.chunk ?? 2;
  const mirror = options.mode === 'mirror';
  const ops: Operation[] = [];
  const slices = <T>(list: readonly T[]): T[][] => {
    const out: T[][] = [];
    for (let i = 0; i < list.length; i += chunk) out.push(list.slice(i, i + chunk));
    return out;
  };
  for (const name of Object.keys(desired).sort()) {
    const want = [...new Set(desired[name])].sort();
    const have = remote[name];
    if (have === undefined) {
      const [first = [], ...rest] = slices(want);
      ops.push({
        id: opId([user, 'create', name, first]),
        kind: 'create',
        user,
        group: name,
        add: first.map(conv),
      });
      for (const s of rest) {
        ops.push({
          id: opId([user, 'update', name, s, []]),
          kind: 'update',
          user,
          group: name,
          add: s.map(conv),
          remove: [],
        });
      }
      continue;
    }
    const add = want.filter((k) => !have.includes(k));
    const remove = mirror ? have.filter((k) => !want.includes(k)) : [];
    const items = [...add.map((k) => ({ k, a: true })), ...remove.map((k) => ({ k, a: false }))];
    for (const s of slices(items)) {
      const a = s.filter((i) => i.a).map((i) => i.k);
      const r = s.filter((i) => !i.a).map((i) => i.k);
      ops.push({
        id: opId([user, 'update', name, a, r]),
        kind: 'update',
        user,
        group: name,
        add: a.map(conv),
        remove: r.map(conv),
      });
    }
  }
  if (mirror) {
    for (const name of Object.keys(remote).sort()) {
      if (!(name in desired))
        ops.push({ id: opId([user, 'delete', name]), kind: 'delete', user, group: name });
    }
  }
  return ops;
}

/** A temporary directory, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'cgsync-executor-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** An async iterable over `items` that counts how many were pulled. */
export function countingSource<T>(items: readonly T[]): { source: AsyncIterable<T>; pulled: () => number } {
  let pulled = 0;
  return {
    source: {
      async *[Symbol.asyncIterator]() {
        for (const item of items) {
          pulled++;
          yield item;
        }
      },
    },
    pulled: () => pulled,
  };
}

/** An in-memory checkpoint: nothing loaded, every record accepted at once. */
export function memoryCheckpoint(): CheckpointStore {
  return {
    progressOf: () => undefined,
    begin: async () => {},
    recordOp: () => {},
    recordUser: () => {},
    flush: async () => {},
    failure: undefined,
  };
}
