import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckpointFile, openAppendFile, openCheckpoint } from '../../src/executor/log/checkpoint.js';
import type { RunIdentity } from '../../src/executor/log/checkpoint-records.js';
import { runApply, type UserWork } from '../../src/executor/run-apply.js';
import { FakeChatApi, type FakeState, type Fault } from './fake-api.js';
import { FakeClock, planUser, RecordingScheduler, tempDir } from './helpers.js';

const identity: RunIdentity = {
  inputDigest: 'e'.repeat(64),
  mode: 'mirror',
  assumeEmpty: false,
  options: {},
};

type Groups = Record<string, string[]>;
interface Scenario {
  readonly desired: Record<string, Groups>;
  readonly remote: Record<string, Groups>;
  readonly mode: 'merge' | 'mirror';
  readonly duplicateNames: 'allow' | 'reject';
  /** Call number → fault, for a few calls. */
  readonly faults: ReadonlyMap<number, Fault>;
  /** The call during which the process is killed. */
  readonly killAt: number;
  /** Whether the kill tears the checkpoint's next write in half. */
  readonly tear: boolean;
}

const names = fc.constantFrom('a', 'b', 'c', 'd');
const convs = fc.uniqueArray(fc.constantFrom('1:u1', '1:u2', '1:u3', '1:u4', '1:u5', '2:@g1', '2:@g2'), {
  maxLength: 5,
});
const groups = fc.dictionary(names, convs, { maxKeys: 3 });
const users = fc.constantFrom('alice', 'bob', 'carol');
const fault: fc.Arbitrary<Fault> = fc.constantFrom<Fault>(
  { kind: 'lost' },
  { kind: 'lost_timeout' },
  { kind: 'timeout' },
  { kind: 'api', code: 50004 },
  { kind: 'api', code: 60007 },
  { kind: 'http', status: 502 },
  { kind: 'refused' },
);

const scenario: fc.Arbitrary<Scenario> = fc.record({
  desired: fc.dictionary(users, groups, { minKeys: 1, maxKeys: 3 }),
  remote: fc.dictionary(users, groups, { maxKeys: 3 }),
  mode: fc.constantFrom('merge', 'mirror'),
  duplicateNames: fc.constantFrom('allow', 'reject'),
  faults: fc
    .array(fc.tuple(fc.integer({ min: 1, max: 40 }), fault), { maxLength: 6 })
    .map((list) => new Map(list)),
  killAt: fc.integer({ min: 1, max: 40 }),
  tear: fc.boolean(),
}) as fc.Arbitrary<Scenario>;

function worksOf(s: Scenario): UserWork[] {
  return Object.entries(s.desired).map(([user, g]) => ({
    user,
    operations: planUser(user, g, s.remote[user] ?? {}, { mode: s.mode, chunk: 2 }),
  }));
}

function seeded(s: Scenario, fault?: (seq: number) => Fault | undefined): FakeChatApi {
  const api = new FakeChatApi({
    duplicateNames: s.duplicateNames,
    pageSize: 2,
    ...(fault === undefined ? {} : { fault: (call) => fault(call.seq) }),
  });
  for (const [user, g] of Object.entries(s.remote)) api.seed(user, g);
  return api;
}

/** A checkpoint file that, once killed, tears its next write (optionally) and fails every write after. */
function killableFile(path: string, tear: () => boolean, killed: () => boolean) {
  return async (): Promise<CheckpointFile> => {
    const real = await openAppendFile(path);
    let torn = false;
    return {
      async append(data) {
        if (!killed()) return real.append(data);
        if (tear() && !torn) await appendFile(path, data.slice(0, Math.max(1, Math.floor(data.length / 2))));
        torn = true;
        throw Object.assign(new Error('killed'), { code: 'EKILLED' });
      },
      close: () => real.close(),
    };
  };
}

async function applyAll(
  api: FakeChatApi,
  works: UserWork[],
  path: string,
  signal?: AbortSignal,
  file?: () => Promise<CheckpointFile>,
) {
  const checkpoint = await openCheckpoint(path, {
    identity,
    toolVersion: 'test',
    flushIntervalMs: 1,
    ...(file === undefined ? {} : { openFile: file }),
  });
  try {
    return await runApply({
      users: works,
      api,
      checkpoint,
      options: {
        limiters: new RecordingScheduler(),
        clock: new FakeClock(),
        concurrency: 2,
        random: () => 0.5,
        ...(signal === undefined ? {} : { signal }),
      },
    });
  } finally {
    await checkpoint.close();
  }
}

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(async () => {
  await cleanup();
});

describe('kill at any point, resume with the same checkpoint', () => {
  it('ends in the same state as a clean run, with no duplicate group names', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const works = worksOf(s);
        const clean = seeded(s);
        const cleanResult = await applyAll(clean, works, join(dir, `clean-${n}.ckpt`));
        expect(cleanResult.users.failed).toBe(0);
        const expected: FakeState = clean.state();

        // First run: faults, and a kill (abort + the checkpoint stops persisting) during call `killAt`.
        const kill = new AbortController();
        const path = join(dir, `killed-${n++}.ckpt`);
        const api = seeded(s, (seq) => {
          if (seq === s.killAt) kill.abort();
          return s.faults.get(seq);
        });
        await applyAll(
          api,
          works,
          path,
          kill.signal,
          killableFile(
            path,
            () => s.tear,
            () => kill.signal.aborted,
          ),
        );

        // Resume: same plan, same checkpoint, faults keep coming by call number.
        const resumed = await applyAll(api, works, path);
        expect(resumed.fatal).toBeUndefined();
        expect(resumed.interrupted).toBe(false);
        expect(resumed.users.failed).toBe(0);
        expect(api.duplicates()).toEqual([]);
        expect(api.state()).toEqual(expected);

        // A third run has nothing left to do.
        const calls = api.calls.length;
        const third = await applyAll(api, works, path);
        expect(third.users.done + third.users.failed).toBe(0);
        expect(api.calls.length).toBe(calls);
      }),
      { numRuns: 60 },
    );
  }, 60_000);
});
