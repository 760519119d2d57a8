/**
 * The `--state` snapshot at scale (issue 13): an unchanged night at three sizes (memory must not grow
 * with the users: the same peak at 50k and 200k), a night with 1% changed under FULL=1 (10M users,
 * goal under 300 MB), each beside csv-parse reading the same CSV once (the time to compare with), and
 * mirror's guard refusing a night that empties 1M users, before any of them is read.
 *
 *   node .bench-build/bench/state-snapshot.js [--md out.md]
 *   env: STATE_SIZES=50000,200000,1000000 (unchanged nights), STATE_CHANGED=0 (FULL=1: 10000000; a
 *   night of that many users with 1% changed), GUARD_USERS=1000000
 *
 * Each unchanged night runs four times: read in full with Node's defaults, read in full with the
 * nightly job's node flags, and the same bytes again (answered from `<state>.input`, no row read),
 * then a fourth time with its rows reversed (answered from the record's multiset of lines).
 *
 * Data is synthetic and made here, fast: user `u<i>` has one row `u<i>,G<i%3>,1,p<i>,`; the snapshot
 * holds every user's digest (computed as cgsync does) in the canonical order, written with the
 * snapshot writer of src/sync. Each run is `cgsync apply <csv> --mode mirror --state <file>` as its own
 * process against an emulator process; the bench fails unless the calls counted at the emulator are
 * exactly the expected ones.
 */
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DesiredUser } from '../src/model.js';
import { desiredDigestOf } from '../src/planner/index.js';
import { compareUserOrder, userOrderKey } from '../src/reader/index.js';
import { hash32 } from '../src/reader/stage/order-tracker.js';
import { targetOf } from '../src/sync/connection.js';
import { lastInputPathFor } from '../src/sync/last-input.js';
import { StateFileWriter } from '../src/sync/state-file.js';
import { type EmulatorProcess, startEmulatorProcess } from './lib/emulator-process.js';
import { lastJsonLine, type MeasuredRun, runNode } from './lib/measure.js';
import { BENCH_BUILD, BENCH_ENV, CLI, DATA, OUT, ROOT } from './lib/paths.js';
import { emitSection, FULL, int, loadLine, machineLine, mb, note, secs, table } from './lib/report.js';

/**
 * The node flags jobs/nightly-sync.sh runs the night with by default (its `NODE_FLAGS` default), read
 * from the script itself so that the bench measures what the job does.
 */
function jobNodeFlags(): string[] {
  const script = readFileSync(join(ROOT, 'jobs', 'nightly-sync.sh'), 'utf8');
  const flags = /\$\{NODE_FLAGS-([^}]*)\}/.exec(script)?.[1];
  if (flags === undefined)
    throw new Error('state-snapshot bench: no NODE_FLAGS default in jobs/nightly-sync.sh');
  return flags.split(/\s+/).filter((f) => f.length > 0);
}

/** The one read `cgsync apply` makes to check the credentials before its first call. */
const CHECK = 1;
const HEADER = 'From_Account,GroupName,Type,To_Account,ToGroupId';

const userOf = (i: number): string => `u${i}`;
/** The user's row on the night of the snapshot (`changed`: one conversation replaced). */
const rowOf = (i: number, changed: boolean): string => `${userOf(i)},G${i % 3},1,${changed ? 'q' : 'p'}${i},`;
const desiredOf = (i: number): DesiredUser => ({
  user: userOf(i),
  groups: [{ name: `G${i % 3}`, conversations: [{ type: 1, id: `p${i}` }] }],
  lines: [i + 2],
  hasRejectedRows: false,
});

/** The users 0..n-1 in the canonical order, without a string per user held at once beyond the indexes. */
function canonicalIndexes(n: number): Uint32Array {
  const keyed = new BigUint64Array(n);
  for (let i = 0; i < n; i++) keyed[i] = (BigInt(hash32(userOf(i))) << 32n) | BigInt(i);
  keyed.sort();
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = Number(keyed[i]! & 0xffff_ffffn);
  // Equal hashes: by user ID (code units), as the canonical order says.
  for (let i = 0; i < n; ) {
    let j = i + 1;
    const h = keyed[i]! >> 32n;
    while (j < n && keyed[j]! >> 32n === h) j++;
    if (j - i > 1) {
      const run = [...out.subarray(i, j)].sort((a, b) => compareUserOrder(userOf(a), userOf(b)));
      out.set(run, i);
    }
    i = j;
  }
  return out;
}

async function writeLines(path: string, lines: (write: (line: string) => Promise<void>) => Promise<void>) {
  const stream = createWriteStream(path);
  let buffer = '';
  const write = async (line: string): Promise<void> => {
    buffer += `${line}\n`;
    if (buffer.length > 1 << 20) {
      if (!stream.write(buffer)) await new Promise<void>((r) => stream.once('drain', () => r()));
      buffer = '';
    }
  };
  await lines(write);
  stream.end(buffer);
  await new Promise<void>((r) => stream.once('finish', () => r()));
}

/**
 * Writes the snapshot of users 0..users-1 (vanished ones with a dummy digest) and the export. The
 * snapshot records the emulator as its target, as one the nightly job saved would: without it the
 * first night would rewrite the file to record it.
 */
async function makeData(
  name: string,
  users: number,
  exported: number,
  isChanged: (i: number) => boolean,
  emulator: EmulatorProcess,
) {
  const started = performance.now();
  const state = join(DATA, `${name}.state`);
  const csv = join(DATA, `${name}.csv`);
  const target = targetOf({ sdkAppId: Number(BENCH_ENV.TENCENT_SDKAPPID), endpoint: emulator.url });
  const writer = await StateFileWriter.create(state, { mode: 'mirror', shard: null, target });
  for (const i of canonicalIndexes(users)) {
    const user = userOf(i);
    const digest = i < exported ? desiredDigestOf(desiredOf(i)) : '0'.repeat(64);
    await writer.write({ user, key: userOrderKey(user), digest, memberships: 1, groups: 1 });
  }
  await writer.commit();
  await writeLines(csv, async (write) => {
    await write(HEADER);
    for (let i = 0; i < exported; i++) await write(rowOf(i, isChanged(i)));
  });
  note(
    `${name}: ${int(users)} users in the snapshot, ${int(exported)} in the export, made in ${secs(performance.now() - started)}`,
  );
  return { state, csv };
}

interface Night {
  readonly name: string;
  readonly users: number;
  readonly changed: number;
  readonly run: MeasuredRun;
  readonly calls: Record<string, number>;
  readonly exitCode: number;
  readonly summary: Record<string, unknown>;
  /** csv-parse reading the same CSV once, as its own process (bench/raw-parse.ts). */
  readonly raw: MeasuredRun;
  /** An unchanged night again, with the node flags of jobs/nightly-sync.sh. */
  readonly asJob?: MeasuredRun;
  /** The same export a third time: answered from `<state>.input` (src/sync/last-input.ts). */
  readonly again?: MeasuredRun;
  /** Its rows in the reverse order: answered from `<state>.input`'s lines (src/sync/input-facts.ts). */
  readonly reordered?: MeasuredRun;
}

/** csv-parse alone over `csv` (arrays, for-await), as a process: the time of reading the CSV once. */
async function rawRead(csv: string, rows: number): Promise<MeasuredRun> {
  const raw = await runNode([join(BENCH_BUILD, 'raw-parse.js'), csv]);
  const counted = (lastJsonLine(raw) as { rows?: unknown }).rows;
  check(
    'the raw read',
    raw.exitCode === 0 && counted === rows,
    `exit ${raw.exitCode}, rows ${String(counted)}`,
  );
  return raw;
}

async function night(
  emulator: EmulatorProcess,
  name: string,
  csv: string,
  state: string,
  extra: string[] = [],
  nodeFlags: readonly string[] = [],
) {
  await emulator.reset();
  const checkpoint = join(OUT, `${name}.ckpt`);
  await rm(checkpoint, { force: true });
  const run = await runNode(
    [
      ...nodeFlags,
      CLI,
      'apply',
      csv,
      '--endpoint',
      emulator.url,
      '--checkpoint',
      checkpoint,
      '--json',
      '--mode',
      'mirror',
      '--rate',
      '5000',
      '--state',
      state,
      ...extra,
    ],
    { timeoutMs: 4 * 3600_000 },
  );
  const stats = await emulator.stats();
  const calls = Object.fromEntries(Object.entries(stats.endpoints).map(([e, s]) => [e, s.accepted]));
  return { run, calls, exitCode: run.exitCode, summary: lastJsonLine(run) };
}

/** An unchanged night answered from `<state>.input` (its message says `how`): checked, no call. */
async function answeredNight(
  emulator: EmulatorProcess,
  name: string,
  csv: string,
  state: string,
  users: number,
  how: string,
): Promise<MeasuredRun> {
  const a = await night(emulator, name, csv, state);
  const unchanged = Number((a.summary.users as Record<string, unknown> | undefined)?.unchanged);
  check(
    `the ${users}-user export answered (${how})`,
    a.exitCode === 0 &&
      a.run.stderr.includes(how) &&
      a.run.stderr.includes('no row was read') &&
      unchanged === users &&
      Object.values(a.calls).every((n) => n === 0),
    `exit ${a.exitCode}, ${unchanged} unchanged, ${JSON.stringify(a.calls)}: ${a.run.stderr.slice(-1500)}`,
  );
  return a.run;
}

function check(what: string, ok: boolean, detail: string): void {
  if (!ok) throw new Error(`state-snapshot bench: ${what} is wrong: ${detail}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { md: { type: 'string' } } });
  const sizes = (process.env.STATE_SIZES ?? '50000,200000,1000000').split(',').map(Number);
  const guardUsers = Number(process.env.GUARD_USERS ?? 1_000_000);
  const nights: { size: number; changed: number }[] = sizes.map((size) => ({ size, changed: 0 }));
  const changedSize = Number(process.env.STATE_CHANGED ?? (FULL ? 10_000_000 : 0));
  if (changedSize > 0) nights.push({ size: changedSize, changed: Math.round(changedSize / 100) });
  const header = machineLine();
  const jobFlags = jobNodeFlags();
  await mkdir(DATA, { recursive: true });
  const emulator = await startEmulatorProcess(['--rate-limit', '100000']);
  const rows: Night[] = [];
  let guard: Awaited<ReturnType<typeof night>>;
  try {
    for (const { size, changed } of nights) {
      const step = changed === 0 ? 0 : Math.round(size / changed);
      const isChanged = (i: number): boolean => step > 0 && i % step === 0;
      const { state, csv } = await makeData(`state-${size}`, size, size, isChanged, emulator);
      note(`night: ${int(size)} users, ${int(changed)} changed`);
      const before = await stat(state);
      const r = await night(emulator, `state-${size}`, csv, state);
      // Each changed user (the app is empty): one read (mirror reads first) and one create; nothing
      // else, apart from the credentials check (one read) before the first call.
      check(`the ${size}-user night's exit`, r.exitCode === 0, `${r.exitCode}: ${r.run.stderr.slice(-1500)}`);
      check(
        `the ${size}-user night's reads`,
        r.calls.get_contact_group === changed + (changed > 0 ? CHECK : 0),
        JSON.stringify(r.calls),
      );
      check(
        `the ${size}-user night's writes`,
        r.calls.create_contact_group === changed && r.calls.del_contact_group === 0,
        JSON.stringify(r.calls),
      );
      const unchanged = Number((r.summary.users as Record<string, unknown> | undefined)?.unchanged);
      check(`the ${size}-user night's unchanged users`, unchanged === size - changed, String(unchanged));
      if (changed === 0) {
        // An unchanged night reads the snapshot and leaves it as it is (STATE-FORMAT.md).
        const after = await stat(state);
        check(
          `the ${size}-user unchanged night's snapshot`,
          after.ino === before.ino && after.mtimeMs === before.mtimeMs,
          'it was rewritten',
        );
      }
      // Read in full: the synthetic snapshot has no record of this export. The night settles every
      // user, so it records it beside the snapshot.
      check(
        `the ${size}-user night's reading`,
        !r.run.stderr.includes('no row was read') && existsSync(lastInputPathFor(state)),
        r.run.stderr.slice(-1500),
      );
      const raw = await rawRead(csv, size);
      let asJob: MeasuredRun | undefined;
      let again: MeasuredRun | undefined;
      let reordered: MeasuredRun | undefined;
      if (changed === 0) {
        note(`night: ${int(size)} users, unchanged, with node ${jobFlags.join(' ')}`);
        // Without the record, so that this night too reads every row.
        await rm(lastInputPathFor(state));
        const j = await night(emulator, `state-${size}`, csv, state, [], jobFlags);
        check(
          `the ${size}-user night as the job runs it`,
          j.exitCode === 0,
          `${j.exitCode}: ${j.run.stderr.slice(-1500)}`,
        );
        const calls = Object.values(j.calls).reduce((a, b) => a + b, 0);
        check(`the ${size}-user night as the job runs it: calls`, calls === 0, JSON.stringify(j.calls));
        asJob = j.run;
        note(`night: ${int(size)} users, the same export again`);
        again = await answeredNight(emulator, `state-${size}`, csv, state, size, 'is the one');
        note(`night: ${int(size)} users, the same rows in the reverse order`);
        const reversed = join(DATA, `state-${size}-reversed.csv`);
        await writeLines(reversed, async (write) => {
          await write(HEADER);
          for (let i = size - 1; i >= 0; i--) await write(rowOf(i, false));
        });
        reordered = await answeredNight(emulator, `state-${size}`, reversed, state, size, 'in another order');
        await rm(reversed, { force: true });
      }
      rows.push({
        name: `state-${size}`,
        users: size,
        changed,
        ...r,
        raw,
        ...(asJob === undefined ? {} : { asJob }),
        ...(again === undefined ? {} : { again }),
        ...(reordered === undefined ? {} : { reordered }),
      });
      await rm(csv, { force: true });
      await rm(state, { force: true });
      await rm(lastInputPathFor(state), { force: true });
    }
    const g = await makeData(`guard-${guardUsers}`, guardUsers, 1, () => true, emulator);
    note(`guard: ${int(guardUsers)} users in the snapshot, 1 in the export`);
    guard = await night(emulator, 'guard', g.csv, g.state);
    check(
      'the guard night',
      guard.exitCode === 5,
      `exit ${guard.exitCode}: ${guard.run.stderr.slice(-1500)}`,
    );
    check(
      "the guard night's reads",
      guard.calls.get_contact_group === 1 + CHECK,
      JSON.stringify(guard.calls),
    );
    await rm(g.csv, { force: true });
    await rm(g.state, { force: true });
  } finally {
    await emulator.close();
  }
  const unchanged = rows.filter((r) => r.changed === 0);
  const flatLine = (what: string, peakOf: (r: Night) => number | undefined): string => {
    const at = (users: number) => {
      const r = unchanged.find((n) => n.users === users);
      return r === undefined ? undefined : peakOf(r);
    };
    const [p50k, p200k] = [at(50_000), at(200_000)];
    return p50k === undefined || p200k === undefined
      ? ''
      : ` ${what}, from 50,000 to 200,000 users: ${mb(p50k)} → ${mb(p200k)} (${((p200k - p50k) / 1024 / 1024).toFixed(1)} MB).`;
  };
  const flat =
    flatLine('Node defaults', (r) => r.run.peakRssBytes) +
    flatLine('As jobs/nightly-sync.sh runs it', (r) => r.asJob?.peakRssBytes);
  await emitSection(values.md, [
    '## The `--state` snapshot at scale (issue 13)',
    '',
    header,
    '',
    'Command: `npm run bench` (this part alone: `BENCH_ONLY=state npm run bench`, or `node .bench-build/bench/state-snapshot.js` after `npx tsc -p tsconfig.json --outDir .bench-build`; `FULL=1` adds 10M users with 1% changed).',
    'Synthetic: user `u<i>` has one row `u<i>,G<i%3>,1,p<i>,`; the snapshot (version 2, canonical order) holds every user. `cgsync apply <csv> --mode mirror --state <file> --rate 5000 --json` as its own process, against an emulator process; the calls are counted at the emulator and checked.',
    '',
    table(
      [
        'users in the snapshot',
        'changed',
        'get',
        'create',
        'wall',
        'peak RSS',
        'csv-parse once',
        'wall / csv-parse',
        'as the nightly job runs it: wall',
        'peak RSS',
        'the same bytes again: wall',
        'peak RSS',
        'wall / csv-parse',
        'the same rows reversed: wall',
        'peak RSS',
        'wall / csv-parse',
      ],
      rows.map((r) => [
        int(r.users),
        int(r.changed),
        int(r.calls.get_contact_group ?? 0),
        int(r.calls.create_contact_group ?? 0),
        secs(r.run.wallMs),
        mb(r.run.peakRssBytes),
        secs(r.raw.wallMs),
        `${(r.run.wallMs / r.raw.wallMs).toFixed(1)}x`,
        r.asJob === undefined ? '—' : secs(r.asJob.wallMs),
        r.asJob === undefined ? '—' : mb(r.asJob.peakRssBytes),
        r.again === undefined ? '—' : secs(r.again.wallMs),
        r.again === undefined ? '—' : mb(r.again.peakRssBytes),
        r.again === undefined ? '—' : `${(r.again.wallMs / r.raw.wallMs).toFixed(1)}x`,
        r.reordered === undefined ? '—' : secs(r.reordered.wallMs),
        r.reordered === undefined ? '—' : mb(r.reordered.peakRssBytes),
        r.reordered === undefined ? '—' : `${(r.reordered.wallMs / r.raw.wallMs).toFixed(1)}x`,
      ]),
    ),
    '',
    `Unchanged nights, peak RSS: ${unchanged.map((r) => `${int(r.users)} users ${mb(r.run.peakRssBytes)}`).join(', ')}.${flat}`,
    `"As the nightly job runs it": the same unchanged night again with the node flags jobs/nightly-sync.sh uses by default (\`node ${jobFlags.join(' ')}\`: 4 MiB semi-spaces and an old generation that grows in smaller steps; by default V8 enlarges both as a run goes on, so the peak follows the run's length, not what it holds).`,
    '"The same bytes again": the export a third time, byte for byte the one the night before settled in full: the run hashes the file (sha256, once), finds it recorded in `<state>.input` for this snapshot, and answers every user unchanged without reading a row (src/sync/last-input.ts); the first two nights read every row (no record). "The same rows reversed": the export with its rows in the reverse order, a fourth time: other bytes, the same header line and the same lines, found in the same one pass (src/sync/input-facts.ts), answered too.',
    'csv-parse once: bench/raw-parse.ts over the same CSV as its own process (wall, start-up included), the time of reading the file once; cgsync reads it, stages and reads back its rows, and streams the snapshot beside them.',
    `Mirror guard, ${int(guardUsers)} users in the snapshot and 1 (changed) in the export: refused (exit ${guard.exitCode}) after ${secs(guard.run.wallMs)} of wall time, peak RSS ${mb(guard.run.peakRssBytes)}, ${int((guard.calls.get_contact_group ?? 0) - CHECK)} user read (the exported user; none of the ${int(guardUsers - 1)} vanished users), plus the credentials check.`,
    `${loadLine()} at end.`,
  ]);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
