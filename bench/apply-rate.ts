/**
 * Apply throughput (issue 4): the emulator as its own process (`--latency 50 --jitter 20`, 200 calls/s
 * per endpoint in any sliding 1000 ms window), `cgsync apply --assume-empty` as another, on a CSV whose
 * users each have one group of ~146 conversations: one create (100) and one update (the rest) per user,
 * so both endpoints are busy side by side.
 *
 *   node .bench-build/bench/apply-rate.js [--md out.md]
 *   env: APPLY_USERS=9000 (FULL=1: 18000), APPLY_RATE=200 (cgsync --rate), LATENCY=50, JITTER=20
 *
 * The achieved rate is what the emulator accepted per second over each endpoint's busy period,
 * sampled from GET /__emulator/stats every 100 ms (bench/lib/stats-poller.ts).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Endpoint } from '../src/tencent/wire.js';
import { cgsyncApply } from './lib/cgsync.js';
import { ensureCsv } from './lib/data.js';
import { startEmulatorProcess } from './lib/emulator-process.js';
import { checkEndState, receivedCalls } from './lib/end-state.js';
import { OUT } from './lib/paths.js';
import {
  emitSection,
  envNumber,
  FULL,
  int,
  loadLine,
  machineLine,
  mb,
  note,
  pct,
  secs,
  table,
} from './lib/report.js';
import { busyRate, pollStats } from './lib/stats-poller.js';

const EMULATOR_RATE = 200;
const WRITE_ENDPOINTS: readonly Endpoint[] = ['create_contact_group', 'update_contact_group'];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { md: { type: 'string' } } });
  const users = envNumber('APPLY_USERS', FULL ? 18_000 : 9000);
  const rate = envNumber('APPLY_RATE', EMULATOR_RATE);
  const latency = envNumber('LATENCY', 50);
  const jitter = envNumber('JITTER', 20);
  const csv = await ensureCsv({ rows: users * 150, users, groupsPerUser: 1 });
  const header = machineLine();
  const emulator = await startEmulatorProcess(['--latency', String(latency), '--jitter', String(jitter)]);
  try {
    note(`cgsync apply --assume-empty on ${csv} against ${emulator.url}`);
    const poller = pollStats(emulator);
    const result = await cgsyncApply(csv, emulator.url, join(OUT, 'apply-rate.ckpt'), [
      '--assume-empty',
      '--rate',
      String(rate),
    ]);
    const samples = await poller.stop();
    const stats = await emulator.stats();
    const endLoad = loadLine();
    const end = await checkEndState(emulator, csv);
    const received = receivedCalls(stats);
    const disagreements = WRITE_ENDPOINTS.filter((e) => result.endpoints[e].calls !== received[e]).map(
      (e) =>
        `${e}: cgsync's summary says ${int(result.endpoints[e].calls)} calls, the emulator received ${int(received[e])}`,
    );
    const rows = WRITE_ENDPOINTS.map((e) => {
      const busy = busyRate(samples, e);
      const theirs = stats.endpoints[e];
      const ours = result.endpoints[e];
      const ok = busy.rate / EMULATOR_RATE >= 0.97 && theirs.rateLimited === 0;
      return [
        e,
        int(received[e]),
        int(theirs.accepted),
        secs(busy.seconds * 1000),
        busy.rate.toFixed(1),
        pct(busy.rate / EMULATOR_RATE),
        int(theirs.rateLimited),
        int(theirs.maxInWindow),
        int(ours.retries),
        ok ? 'yes' : '**no**',
      ];
    });
    await emitSection(values.md, [
      '## Apply throughput (issue 4)',
      '',
      header,
      '',
      'Command: `npm run bench` (this part alone: `node .bench-build/bench/apply-rate.js`).',
      `Emulator process: \`cgsync emulator --port 0 --latency ${latency} --jitter ${jitter}\` (rate limit ${EMULATOR_RATE} per endpoint in any sliding 1000 ms window).`,
      `cgsync process: \`cgsync apply <csv> --assume-empty --rate ${rate} --json\` on ${int(users)} users × 1 group of ~146 conversations (${int(users * 150)} rows): one create and one update per user.`,
      'calls: received by the emulator (accepted or answered 60007, its own count); calls/s: accepted by the emulator over the endpoint’s busy period (sampled every 100 ms), against the emulator’s 200.',
      '',
      table(
        [
          'endpoint',
          'calls received',
          'accepted',
          'busy',
          'calls/s',
          '% of 200',
          '60007 answers',
          'maxInWindow',
          'retries',
          '≥ 97%, no 60007?',
        ],
        rows,
      ),
      '',
      `Whole process: wall ${secs(result.run.wallMs)} (of which before the executor, mostly the CSV scan: ${secs(
        result.run.wallMs - result.durationMs,
      )}), peak RSS ${mb(result.run.peakRssBytes)}; ${endLoad} at end.`,
      `End state: the emulator holds exactly what the CSV says (${int(end.users)} users, ${int(end.groups)} groups, ${int(
        end.memberships,
      )} memberships; checked against the documented rules, test/helpers/expected-state.ts).`,
      disagreements.length === 0
        ? 'cgsync’s own summary counts the same calls as the emulator.'
        : `**cgsync’s own summary disagrees with the emulator:** ${disagreements.join('; ')}.`,
    ]);
  } finally {
    await emulator.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
