import { existsSync } from 'node:fs';
import { copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/executor/log/checkpoint.js';
import { createEndpointLimiters } from '../../src/executor/rate/limiters.js';
import { runApplyJob } from '../../src/sync/apply-job.js';
import { applyStatus, applySummary } from '../../src/sync/apply-summary.js';
import type { ApplyJobOptions } from '../../src/sync/apply-types.js';
import { lastInputPathFor, readLastInput } from '../../src/sync/last-input.js';
import { openStateFile } from '../../src/sync/state-file.js';
import { markStateUnsaved } from '../../src/sync/state-marker.js';
import { VERSION } from '../../src/version.js';
import { expectedState } from '../helpers/expected-state.js';
import { useJobHarness } from '../helpers/job-harness.js';

/**
 * The snapshot's last input (src/sync/last-input.ts): an export byte for byte the one the last run
 * settled in full is answered from `<state>.input`, with the result the full join gives; any
 * doubt (other bytes, other reader options, --refresh, a resumed checkpoint, a night that did not
 * settle everything, a run that died before saving) reads the rows as before.
 */
const h = useJobHarness('last-input', { emulator: { rateLimit: 10_000 } });

const HEADER = 'From_Account,GroupName,Type,To_Account,ToGroupId';

/** `n` users from `from`, each with two conversations in Family and (even ones) one group in Work. */
function rows(n: number, from = 0, peer = 'p'): string[] {
  return Array.from({ length: n }, (_, k) => k + from).flatMap((i) => [
    `u${i},Family,1,${peer}${i}a,`,
    `u${i},Family,1,${peer}${i}b,`,
    ...(i % 2 === 0 ? [`u${i},Work,2,,@TGS#g${i}`] : []),
  ]);
}

async function csv(name: string, lines: readonly string[]): Promise<string> {
  const path = join(h.dir.path, `${name}.csv`);
  await writeFile(path, `${[HEADER, ...lines].join('\n')}\n`);
  return path;
}

interface Night {
  readonly summary: ReturnType<typeof applySummary>;
  readonly info: string[];
  readonly phases: string[];
  /** Calls the emulator accepted during the night. */
  readonly calls: number;
}

/** One run of `input` against `state`, with its own checkpoint `name`. */
async function night(
  name: string,
  input: string,
  state: string,
  extra: Partial<ApplyJobOptions> = {},
): Promise<Night> {
  const info: string[] = [];
  const phases: string[] = [];
  const before = h.t.totalAccepted();
  const result = await runApplyJob({
    input,
    checkpoint: join(h.dir.path, `${name}.ndjson`),
    failures: join(h.dir.path, `${name}.failures.csv`),
    mode: 'mirror',
    assumeEmpty: false,
    state,
    api: h.api,
    scheduler: h.scheduler,
    onInfo: (m) => info.push(m),
    onPhase: (p) => {
      phases.push(p);
    },
    ...extra,
  });
  const summary = applySummary(result, applyStatus(result));
  return { summary, info, phases, calls: h.t.totalAccepted() - before };
}

const statePath = (name: string): string => join(h.dir.path, `${name}.state`);

/** The record of the snapshot's last input, as written (undefined when there is none). */
async function recordOf(state: string): Promise<Record<string, unknown> | undefined> {
  if (!existsSync(lastInputPathFor(state))) return undefined;
  return JSON.parse(await readFile(lastInputPathFor(state), 'utf8')) as Record<string, unknown>;
}

/** The generation in a snapshot's header. */
async function generationOf(state: string): Promise<unknown> {
  return (JSON.parse((await readFile(state, 'utf8')).split('\n')[0] as string) as { generation?: unknown })
    .generation;
}

/** What two runs said, apart from how long they took. */
const comparable = (n: Night) => ({ ...n.summary, durationMs: undefined });

describe('--state: an export byte for byte the last one settled in full', () => {
  it.each([
    ['mirror', 'same'],
    ['merge', 'same'],
    ['mirror', 'reordered'],
    ['merge', 'reordered'],
  ] as const)(
    '%s, %s rows: answered with the result, checkpoint and files the full join gives',
    async (mode, order) => {
      const name = `${order}-${mode}`;
      const state = statePath(name);
      const input = await csv(name, rows(40));
      const first = await night(`${name}-1`, input, state, { mode });
      expect(first.summary.status).toBe('ok');
      expect(first.info).toEqual([]);
      expect(await recordOf(state)).toMatchObject({
        generation: await generationOf(state),
        input: {
          bytes: (await stat(input)).size,
          rows: 100,
          users: 40,
          memberships: 100,
          lines: { count: 100 },
        },
      });
      // Tonight's export: the same bytes, or the same rows in another order (reversed, then every
      // third moved to the end).
      const tonight =
        order === 'same'
          ? input
          : await csv(`${name}-tonight`, [
              ...rows(40)
                .reverse()
                .filter((_, i) => i % 3 !== 0),
              ...rows(40)
                .reverse()
                .filter((_, i) => i % 3 === 0),
            ]);
      // The same night twice: once answered from the record, once with the record taken away.
      const joined = statePath(`${name}-joined`);
      await copyFile(state, joined);
      const record = await readFile(lastInputPathFor(state), 'utf8');
      const before = [await stat(state), await stat(lastInputPathFor(state))];
      const quick = await night(`${name}-quick`, tonight, state, { mode });
      const full = await night(`${name}-full`, tonight, joined, { mode });
      expect(quick.info).toHaveLength(1);
      expect(quick.info[0]).toMatch(
        order === 'same'
          ? /the input is the one its last run settled in full \(100 rows.*40 users are unchanged/
          : /the input has the lines of the one its last run settled in full, in another order \(100 rows.*40 users are unchanged/,
      );
      expect(full.info).toEqual([]);
      expect(comparable(quick)).toEqual(comparable(full));
      expect(quick.summary.users?.unchanged).toBe(40);
      expect(quick.calls + full.calls).toBe(0);
      expect(quick.phases).toEqual(full.phases);
      for (const file of ['ndjson', 'failures.csv']) {
        expect(await readFile(join(h.dir.path, `${name}-quick.${file}`), 'utf8')).toEqual(
          await readFile(join(h.dir.path, `${name}-full.${file}`), 'utf8'),
        );
      }
      // The snapshot and its record are left as they were; the joined copy gets a record of tonight's
      // export (the same lines).
      const after = [await stat(state), await stat(lastInputPathFor(state))];
      expect(after.map((s) => [s.ino, s.mtimeMs])).toEqual(before.map((s) => [s.ino, s.mtimeMs]));
      expect(await readFile(joined, 'utf8')).toEqual(await readFile(state, 'utf8'));
      const joinedRecord = (await recordOf(joined)) as { input: Record<string, unknown> };
      const stateRecord = JSON.parse(record) as { input: Record<string, unknown> };
      expect(joinedRecord.input.lines).toEqual(stateRecord.input.lines);
      if (order === 'same') expect(JSON.stringify(joinedRecord)).toEqual(record.trim());
      else expect(joinedRecord.input.sha256).not.toEqual(stateRecord.input.sha256);
      expect(h.t.state()).toEqual(expectedState(tonight));
    },
  );

  it.each([
    [
      'a line changed (same size)',
      (r: string[]) => r.map((l) => (l === 'u3,Family,1,p3b,' ? 'u3,Family,1,p3c,' : l)),
    ],
    [
      'a line in place of another of its length',
      (r: string[]) => r.map((l) => (l === 'u3,Family,1,p3b,' ? 'u3,Family,1,p3a,' : l)),
    ],
  ])('reordered, %s: the rows are read and the app ends as they say', async (_, change) => {
    const name = `other-${_.length}`;
    const state = statePath(name);
    await night(`${name}-1`, await csv(name, rows(10)), state, {
      maxDelete: { kind: 'percent', value: 100 },
    });
    const tonight = await csv(`${name}-tonight`, change(rows(10)).reverse());
    expect((await stat(tonight)).size).toBe((await stat(join(h.dir.path, `${name}.csv`))).size);
    const second = await night(`${name}-2`, tonight, state, { maxDelete: { kind: 'percent', value: 100 } });
    expect(second.info).toEqual([]);
    expect(second.summary.users).toMatchObject({ done: 1, unchanged: 9 });
    expect(h.t.state()).toEqual(expectedState(tonight));
  });

  it('reordered, quoted fields: answered while each line is a row; a quoted line break: the rows are read', async () => {
    const state = statePath('quoted');
    const lines = [...rows(10), 'u20,"Book, ""club""",1,p20,'];
    await night('quoted-1', await csv('quoted', lines), state);
    const answered = await night('quoted-2', await csv('quoted-tonight', [...lines].reverse()), state);
    expect(answered.info[0]).toMatch(/in another order/);
    expect(answered.summary.users).toMatchObject({ done: 0, unchanged: 11 });
    // A group name with a line break: a row spans two lines, whose order then matters.
    const split = [...rows(10), 'u21,"Two\nlines",1,p21,'];
    const state2 = statePath('quoted-break');
    await night('quoted-3', await csv('quoted-break', split), state2);
    expect(((await recordOf(state2)) as { input: Record<string, unknown> }).input.lines).toBeUndefined();
    const read = await night('quoted-4', await csv('quoted-break-tonight', [...split].reverse()), state2);
    expect(read.info).toEqual([]);
    expect(read.summary.users).toMatchObject({ done: 0, unchanged: 11 });
  });

  it('a byte changed (same size) reads the rows and applies the change', async () => {
    const state = statePath('byte');
    const input = await csv('byte', rows(10));
    await night('byte-1', input, state);
    const text = await readFile(input, 'utf8');
    await writeFile(input, text.replace('u3,Family,1,p3b,', 'u3,Family,1,p3c,'));
    expect((await stat(input)).size).toBe(text.length);
    const second = await night('byte-2', input, state);
    expect(second.info).toEqual([]);
    expect(second.summary.users).toMatchObject({ done: 1, unchanged: 9 });
    expect(h.t.state()).toEqual(expectedState(input));
    // Settled in full: the new bytes are recorded, and answer the next night.
    const third = await night('byte-3', input, state);
    expect(third.info).toHaveLength(1);
    expect(third.calls).toBe(0);
  });

  it('--refresh, another GroupName limit, a resumed checkpoint: the rows are read', async () => {
    const state = statePath('options');
    const input = await csv('options', rows(10));
    await night('options-1', input, state);
    const refresh = await night('options-2', input, state, { refresh: true });
    expect(refresh.info).toEqual([]);
    // Mirror reads every user again (plus the credentials check).
    expect(refresh.summary.users).toMatchObject({ done: 10, unchanged: 0 });
    const limit = await night('options-3', input, state, { groupNameLimit: 32 });
    expect(limit.info).toEqual([]);
    expect(limit.summary.users).toMatchObject({ unchanged: 10 });
    // A checkpoint of the same input with users done counts them apart, as a resumed run does.
    const { sha256 } = ((await recordOf(state)) as { input: { sha256: string } }).input;
    const cp = await openCheckpoint(join(h.dir.path, 'options-4.ndjson'), {
      identity: {
        inputDigest: sha256,
        mode: 'mirror',
        assumeEmpty: false,
        options: { shard: null },
      },
      toolVersion: VERSION,
    });
    cp.recordUser({ user: 'u1', outcome: 'done' });
    await cp.close();
    const resume = await night('options-4', input, state);
    expect(resume.info).toEqual([]);
    expect(resume.summary.users).toMatchObject({ unchanged: 10, done: 0 });
    // Nothing above changed a line: the record still answers.
    expect((await night('options-5', input, state)).info).toHaveLength(1);
  });

  it('a night with a rejected row records no input: the next one reports the row again', async () => {
    const state = statePath('rejected');
    const input = await csv('rejected', [...rows(5), 'u9,,1,x,']);
    const first = await night('rejected-1', input, state);
    expect(first.summary.status).toBe('partial');
    expect(await recordOf(state)).toBeUndefined();
    const second = await night('rejected-2', input, state);
    expect(second.info).toEqual([]);
    expect(second.summary).toMatchObject({ status: 'partial', rows: { rejected: 1 }, failuresWritten: 1 });
  });

  it('a night with a user over a limit records no input', async () => {
    const state = statePath('limit');
    const tooMany = Array.from({ length: 21 }, (_, g) => `u7,G${g},1,x${g},`);
    const input = await csv('limit', [...rows(5), ...tooMany]);
    const first = await night('limit-1', input, state);
    expect(first.summary.status).toBe('partial');
    expect(await recordOf(state)).toBeUndefined();
    const second = await night('limit-2', input, state);
    expect(second.info).toEqual([]);
    expect(second.summary.status).toBe('partial');
  });

  it('a night stopped part way rewrites the snapshot: the record of the last settled export no longer holds', async () => {
    const state = statePath('stopped');
    const a = await csv('stopped-a', rows(30));
    await night('stopped-1', a, state);
    expect(await recordOf(state)).toBeDefined();
    // Night 2 moves every user to other conversations and is stopped after a few writes.
    const b = await csv('stopped-b', rows(30, 0, 'q'));
    const stop = new AbortController();
    const slow = createEndpointLimiters({ rate: 20 });
    const writes = () => h.t.emulator.stats().endpoints.update_contact_group.accepted;
    const before = writes();
    const watch = setInterval(() => {
      if (writes() - before >= 5) stop.abort();
    }, 5);
    const second = await night('stopped-2', b, state, {
      scheduler: slow,
      signal: stop.signal,
      maxDelete: { kind: 'percent', value: 100 },
    }).finally(async () => {
      clearInterval(watch);
      await slow.stop();
    });
    expect(writes() - before).toBeLessThan(30);
    expect(second.summary.status).toBe('interrupted');
    // The snapshot was rewritten: the record names the file before it.
    expect((await recordOf(state))?.generation).not.toEqual(await generationOf(state));
    // Night 3 is night 1's export again: read, and the app ends exactly as it says.
    const third = await night('stopped-3', a, state, { maxDelete: { kind: 'percent', value: 100 } });
    expect(third.info).toEqual([]);
    expect(h.t.state()).toEqual(expectedState(a));
  });

  it('a run that died before saving (its mark left): the repaired snapshot is not answered by the record', async () => {
    const state = statePath('died');
    const input = await csv('died', rows(10));
    await night('died-1', input, state);
    const checkpoint = join(h.dir.path, 'died-x.ndjson');
    const cp = await openCheckpoint(checkpoint, {
      identity: { inputDigest: 'x'.repeat(64), mode: 'mirror', assumeEmpty: false, options: {} },
      toolVersion: 'test',
    });
    await cp.begin('u2');
    await cp.close();
    await markStateUnsaved(state, checkpoint);
    const second = await night('died-2', input, state);
    expect(second.info).toEqual([]);
    expect(second.summary.users).toMatchObject({ done: 1, unchanged: 9 });
    expect(existsSync(`${state}.unsaved`)).toBe(false);
    // Settled in full again: recorded, and the next night is answered.
    expect((await night('died-3', input, state)).info).toHaveLength(1);
  });

  it('a record that does not parse is ignored (the rows are read)', async () => {
    const state = statePath('broken');
    const input = await csv('broken', rows(4));
    await night('broken-1', input, state);
    const record = (await recordOf(state)) as { input: Record<string, unknown> };
    record.input.users = -1;
    await writeFile(lastInputPathFor(state), JSON.stringify(record));
    const source = await openStateFile(state, { mode: 'mirror', shard: null });
    expect(await readLastInput(state, source.generation)).toBeUndefined();
    const second = await night('broken-2', input, state);
    expect(second.info).toEqual([]);
    expect(second.summary.users).toMatchObject({ unchanged: 4 });
  });

  it('a snapshot put back from a copy is not answered by the record of another file', async () => {
    const state = statePath('restored');
    const a = await csv('restored-a', rows(10));
    await night('restored-1', a, state);
    await copyFile(state, `${state}.copy`);
    // Night 2 changes u1 and u4 and settles: its record names the new snapshot.
    const b = await csv('restored-b', [
      ...rows(10).filter((r) => !/^u[14],Family/.test(r)),
      'u1,Family,1,z1,',
      'u4,Family,1,z4,',
    ]);
    const all = { maxDelete: { kind: 'percent', value: 100 } } as const;
    const second = await night('restored-2', b, state, all);
    expect(second.summary.users).toMatchObject({ done: 2, unchanged: 8 });
    // The operator puts night 1's snapshot back (a backup), and night 2's export comes again.
    await copyFile(`${state}.copy`, state);
    const third = await night('restored-3', b, state, all);
    expect(third.info).toEqual([]);
    expect(third.summary.users).toMatchObject({ done: 2, unchanged: 8 });
    expect(h.t.state()).toEqual(expectedState(b));
  });

  it('a signal while the export is hashed stops the run before any write, as during a scan', async () => {
    const state = statePath('signal');
    const input = await csv('signal', rows(10));
    await night('signal-1', input, state);
    const stop = new AbortController();
    await expect(
      night('signal-2', input, state, {
        signal: stop.signal,
        onPhase: (p) => {
          if (p === 'scan') stop.abort();
        },
      }),
    ).rejects.toMatchObject({ code: 'INTERRUPTED' });
    // Nothing changed: the next night is answered from the record.
    expect((await night('signal-3', input, state)).info).toHaveLength(1);
  });
});
