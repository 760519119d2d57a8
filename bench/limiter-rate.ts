/**
 * How fast the rate budget itself can start calls (issue 13: `--rate` above 200): jobs per second of
 * one Bottleneck limiter alone, of several side by side, and of `createEndpointLimiters` at several
 * `--rate` values (one lane per 200 calls/s, src/executor/rate/limiters.ts). Each job waits 2 ms, like
 * a very fast call; 10,000 jobs are scheduled at once. No network, no emulator: this is the ceiling
 * of the scheduling, not of the service.
 *
 *   node .bench-build/bench/limiter-rate.js [--md out.md]
 *   env: LIMITER_JOBS=10000
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Bottleneck from 'bottleneck';
import { createEndpointLimiters, lanesFor } from '../src/executor/rate/limiters.js';
import { envNumber, int, machineLine, table } from './lib/report.js';

const JOBS = envNumber('LIMITER_JOBS', 10_000);

const call = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2));

async function jobsPerSecond(schedule: (fn: () => Promise<void>) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: JOBS }, () => schedule(call)));
  return JOBS / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { md: { type: 'string' } } });
  const rows: (string | number)[][] = [];
  for (const count of [1, 2, 4, 8, 16]) {
    const limiters = Array.from({ length: count }, () => new Bottleneck({ minTime: 0, maxConcurrent: JOBS }));
    let next = 0;
    const rate = await jobsPerSecond((fn) => (limiters[next++ % count] as Bottleneck).schedule(fn));
    rows.push([
      `${count} Bottleneck limiter(s), \`minTime: 0\`, taken in turn`,
      '—',
      count,
      int(Math.round(rate)),
    ]);
  }
  for (const rate of [200, 1000, 5000]) {
    const budget = createEndpointLimiters({ rate });
    const reached = await jobsPerSecond((fn) => budget.schedule('create_contact_group', fn));
    await budget.stop();
    rows.push([
      `\`createEndpointLimiters({ rate: ${rate} })\`, one endpoint`,
      int(rate),
      lanesFor(rate, Math.ceil(rate)),
      int(Math.round(reached)),
    ]);
  }
  const md = [
    '## The rate budget’s own ceiling (issue 13)',
    '',
    machineLine(),
    '',
    `Command: \`npm run bench\` (this part alone: \`BENCH_ONLY=limiter npm run bench\`, or \`node .bench-build/bench/limiter-rate.js\`). ${int(JOBS)} jobs of 2 ms scheduled at once, no network: how many starts per second the scheduling itself allows. The window gate caps \`--rate N\` at N per 1,025 ms (97.6% of N).`,
    '',
    table(['scheduler', '--rate', 'Bottleneck limiters', 'jobs/s'], rows),
    '',
  ].join('\n');
  process.stdout.write(`${md}\n`);
  if (values.md !== undefined) writeFileSync(values.md, `${md}\n`);
}

await main();
