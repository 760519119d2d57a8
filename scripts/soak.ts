/**
 * The long soak: `cgsync apply` of ~1M memberships against an in-process emulator at a high rate,
 * the cgsync process sampled from /proc (RSS, open descriptors, CPU) and printed over time, then a
 * final check: exit status, exact end state, flat memory after warm-up, bounded descriptors.
 * Run it through scripts/soak.sh (which builds and compiles it); options are documented there.
 *
 * Exit status: 0 when every check passes, 1 otherwise.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type EmulatorState, startEmulator } from '../src/emulator/index.js';
import { readUsers } from '../src/reader/index.js';
import { writeFaultCsv } from '../test/faults/fixtures.js';
import { type ProcessSample, sampleProcess, spawnCli } from '../test/helpers/spawn-cli.js';

const SDKAPPID = 1400000000;
const MB = 1024 * 1024;

interface SoakOptions {
  readonly memberships: number;
  readonly rowsPerUser: number;
  readonly groupsPerUser: number;
  readonly rate: number;
  readonly sampleMs: number;
  readonly warmupFraction: number;
  readonly rssGrowthMb: number;
  readonly fdBound: number;
  readonly heapMb: number | undefined;
  readonly dir: string | undefined;
  readonly keep: boolean;
  readonly heapTrace: boolean;
  readonly timeoutMin: number;
}

function parseOptions(): SoakOptions {
  const { values } = parseArgs({
    options: {
      memberships: { type: 'string', default: '1000000' },
      'rows-per-user': { type: 'string', default: '2' },
      'groups-per-user': { type: 'string', default: '8' },
      rate: { type: 'string', default: '2000' },
      'sample-ms': { type: 'string', default: '5000' },
      warmup: { type: 'string', default: '0.1' },
      'rss-growth-mb': { type: 'string', default: '32' },
      'fd-bound': { type: 'string', default: '100' },
      'heap-mb': { type: 'string', default: '96' },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'heap-trace': { type: 'boolean', default: false },
      'timeout-min': { type: 'string', default: '180' },
    },
  });
  const num = (name: string, raw: string, min: number): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min)
      throw new Error(`Expected --${name} to be a number from ${min}, got "${raw}"`);
    return n;
  };
  return {
    memberships: num('memberships', values.memberships, 1),
    rowsPerUser: num('rows-per-user', values['rows-per-user'], 1),
    groupsPerUser: num('groups-per-user', values['groups-per-user'], 1),
    rate: num('rate', values.rate, 1),
    sampleMs: num('sample-ms', values['sample-ms'], 100),
    warmupFraction: num('warmup', values.warmup, 0),
    rssGrowthMb: num('rss-growth-mb', values['rss-growth-mb'], 0),
    fdBound: num('fd-bound', values['fd-bound'], 1),
    heapMb: values['heap-mb'] === '0' ? undefined : num('heap-mb', values['heap-mb'], 16),
    dir: values.dir,
    keep: values.keep,
    heapTrace: values['heap-trace'],
    timeoutMin: num('timeout-min', values['timeout-min'], 1),
  };
}

/**
 * Preloaded into the child with --heap-trace: every interval, a full GC, then the V8 heap figures
 * appended to SOAK_HEAP_LOG. Tells a leak (heapUsed after GC grows) from lazy heap growth (it does not).
 */
const HEAP_TRACE_PRELOAD = `import { appendFileSync } from 'node:fs';
const file = process.env.SOAK_HEAP_LOG;
const every = Number(process.env.SOAK_HEAP_EVERY_MS);
const t0 = Date.now();
setInterval(() => {
  globalThis.gc();
  const m = process.memoryUsage();
  const f = (n) => (n / 1048576).toFixed(1);
  appendFileSync(file, JSON.stringify({ atMs: Date.now() - t0, heapUsedMb: f(m.heapUsed), heapTotalMb: f(m.heapTotal), externalMb: f(m.external), arrayBuffersMb: f(m.arrayBuffers), rssMb: f(m.rss) }) + '\\n');
}, every).unref();
`;

const mb = (bytes: number) => `${Math.round(bytes / MB)} MB`;
const pad = (s: string | number, n: number) => String(s).padStart(n);

/** Compares the emulator's state with the CSV, one user at a time; returns the differences (up to 10). */
async function compareState(
  input: string,
  state: EmulatorState['users'],
): Promise<{ users: number; memberships: number; problems: string[] }> {
  const problems: string[] = [];
  const seen = new Set<string>();
  let users = 0;
  let memberships = 0;
  const note = (p: string) => {
    if (problems.length < 10) problems.push(p);
  };
  for await (const user of readUsers(input)) {
    if (user.groups.length === 0) continue;
    users++;
    seen.add(user.user);
    const remote = new Map((state[user.user] ?? []).map((g) => [g.name, g.members]));
    const names = new Set<string>();
    for (const group of user.groups) {
      names.add(group.name);
      memberships += group.conversations.length;
      const want = group.conversations.map((c) => `${c.type}:${c.id}`).sort();
      const members = remote.get(group.name);
      if (members === undefined) {
        note(`${user.user}: missing group "${group.name}"`);
        continue;
      }
      const have = members.map((m) => `${m.type}:${m.id}`).sort();
      if (want.join('\n') !== have.join('\n')) note(`${user.user}/${group.name}: members differ`);
    }
    const groups = state[user.user] ?? [];
    if (groups.length !== names.size) note(`${user.user}: ${groups.length} groups, expected ${names.size}`);
  }
  for (const user of Object.keys(state)) {
    if (!seen.has(user) && (state[user]?.length ?? 0) > 0) note(`${user}: not in the CSV but has groups`);
  }
  return { users, memberships, problems };
}

async function main(): Promise<number> {
  const o = parseOptions();
  const dir = o.dir === undefined ? join(tmpdir(), `cgsync-soak-${process.pid}`) : resolve(o.dir);
  await mkdir(dir, { recursive: true });
  const input = join(dir, 'soak.csv');
  const users = Math.ceil(o.memberships / o.rowsPerUser);
  const started = performance.now();
  const rows = await writeFaultCsv(input, {
    users,
    rowsPerUser: o.rowsPerUser,
    groupsPerUser: o.groupsPerUser,
    seed: 2026,
  });
  console.log(
    `input: ${input}, ${rows} rows, ${users} users (${Math.round(performance.now() - started)} ms)`,
  );

  const secretKey = randomBytes(16).toString('hex');
  const emulator = await startEmulator({ sdkAppId: SDKAPPID, secretKey, port: 0, rateLimit: o.rate });
  const accepted = () => Object.values(emulator.stats().endpoints).reduce((n, e) => n + e.accepted, 0);
  console.log(`emulator: ${emulator.url}, rate limit ${o.rate}/s per endpoint`);

  const nodeArgs = o.heapMb === undefined ? [] : [`--max-old-space-size=${o.heapMb}`];
  const heapLog = join(dir, 'heap.ndjson');
  if (o.heapTrace) {
    const preload = join(dir, 'heap-trace.mjs');
    await writeFile(preload, HEAP_TRACE_PRELOAD);
    await rm(heapLog, { force: true });
    nodeArgs.push('--expose-gc', '--import', pathToFileURL(preload).href);
  }
  const args = ['apply', input, '--checkpoint', join(dir, 'soak.ndjson'), '--rate', String(o.rate), '--json'];
  const child = spawnCli(args, {
    env: {
      TENCENT_SDKAPPID: String(SDKAPPID),
      TENCENT_SECRET_KEY: secretKey,
      TENCENT_ENDPOINT: emulator.url,
      ...(o.heapTrace ? { SOAK_HEAP_LOG: heapLog, SOAK_HEAP_EVERY_MS: String(o.sampleMs) } : {}),
    },
    cwd: dir,
    main: resolve('dist/cli/main.js'),
    timeoutMs: o.timeoutMin * 60_000,
    maxOutputChars: 64 * 1024,
    nodeArgs,
  });
  console.log(`cgsync: pid ${child.pid}${o.heapMb === undefined ? '' : `, heap cap ${o.heapMb} MB`}`);
  console.log(
    `${pad('time', 8)} ${pad('rss', 8)} ${pad('fds', 4)} ${pad('cpu', 5)} ${pad('calls', 9)} ${pad('calls/s', 8)}`,
  );

  const samples: ProcessSample[] = [];
  const t0 = performance.now();
  let lastCalls = 0;
  let lastAt = 0;
  let lastCpu = 0;
  const take = () => {
    const at = Math.round(performance.now() - t0);
    const s = sampleProcess(child.pid, at);
    if (s === undefined) return;
    samples.push(s);
    const calls = accepted();
    const dt = Math.max(1, at - lastAt) / 1000;
    const cpu = Math.round(((s.cpuMs - lastCpu) / 1000 / dt) * 100);
    console.log(
      `${pad(`${(at / 1000).toFixed(1)}s`, 8)} ${pad(mb(s.rssBytes), 8)} ${pad(s.fds, 4)} ${pad(`${cpu}%`, 5)} ${pad(calls, 9)} ${pad(Math.round((calls - lastCalls) / dt), 8)}`,
    );
    lastCalls = calls;
    lastAt = at;
    lastCpu = s.cpuMs;
  };
  take();
  const timer = setInterval(take, o.sampleMs);
  const exit = await child.exited;
  clearInterval(timer);
  const seconds = (performance.now() - t0) / 1000;

  const failures: string[] = [];
  console.log(`\ncgsync exited ${exit.code ?? exit.signal} after ${seconds.toFixed(1)} s`);
  if (exit.timedOut) failures.push(`still running after --timeout-min ${o.timeoutMin}: killed`);
  else if (exit.code !== 0) failures.push(`exit ${exit.code ?? exit.signal}: ${exit.stderr.slice(-2000)}`);
  try {
    const summary = JSON.parse(exit.stdout) as { status?: string; endpoints?: unknown };
    console.log(`summary: status ${summary.status}, endpoints ${JSON.stringify(summary.endpoints)}`);
  } catch {
    failures.push('no JSON summary on stdout');
  }
  const stats = emulator.stats().endpoints;
  const rateLimited = Object.values(stats).reduce((n, e) => n + e.rateLimited, 0);
  console.log(`emulator: ${accepted()} calls accepted, ${rateLimited} rate-limit answers`);
  if (rateLimited > 0) failures.push(`${rateLimited} rate-limit answers (60007)`);

  if (samples.length >= 3) {
    const warm = Math.max(1, Math.ceil(samples.length * o.warmupFraction));
    const warmRss = Math.max(...samples.slice(0, warm).map((s) => s.rssBytes));
    const after = samples.slice(warm);
    const peakRss = after.length === 0 ? warmRss : Math.max(...after.map((s) => s.rssBytes));
    const maxFds = Math.max(...samples.map((s) => s.fds));
    console.log(
      `memory: ${mb(warmRss)} at the end of warm-up (${warm} samples), peak after ${mb(peakRss)} (bound +${o.rssGrowthMb} MB)`,
    );
    console.log(`descriptors: at most ${maxFds} (bound ${o.fdBound})`);
    if (peakRss - warmRss > o.rssGrowthMb * MB)
      failures.push(`RSS grew by ${mb(peakRss - warmRss)} after warm-up`);
    if (maxFds > o.fdBound) failures.push(`${maxFds} open descriptors`);
  } else {
    failures.push(`only ${samples.length} samples: lower --sample-ms or raise --memberships`);
  }

  if (o.heapTrace) {
    const lines = (await readFile(heapLog, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
    console.log(`heap after a full GC (${heapLog}):`);
    for (const line of lines) {
      const h = JSON.parse(line) as Record<string, string | number>;
      console.log(
        `  ${pad(`${(Number(h.atMs) / 1000).toFixed(1)}s`, 8)} used ${pad(h.heapUsedMb ?? '', 6)} MB, total ${pad(h.heapTotalMb ?? '', 6)} MB, external ${pad(h.externalMb ?? '', 6)} MB, rss ${pad(h.rssMb ?? '', 6)} MB`,
      );
    }
  }

  const check = await compareState(input, emulator.store.state().users);
  console.log(
    `end state: ${check.users} users, ${check.memberships} memberships checked, ${check.problems.length === 0 ? 'exact' : 'DIFFERENT'}`,
  );
  for (const p of check.problems) failures.push(`state: ${p}`);
  await emulator.close();
  if (!o.keep) await rm(dir, { recursive: true, force: true });

  console.log(failures.length === 0 ? '\nSOAK PASSED' : `\nSOAK FAILED:\n  - ${failures.join('\n  - ')}`);
  return failures.length === 0 ? 0 : 1;
}

process.exitCode = await main();
