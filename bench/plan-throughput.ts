/**
 * Planning throughput (issue 3): `cgsync plan --assume-empty` as its own process on generated CSVs,
 * sorted and shuffled, next to csv-parse's raw parse speed on the same file (also its own process).
 *
 *   node .bench-build/bench/plan-throughput.js [--md out.md]
 *   env: PLAN_ROWS=1000000,10000000 (default 1M; FULL=1 adds 10M), PLAN_RUNS=1
 *
 * cgsync's rows/s is rows / the whole process's wall time (start-up, the scan, planning on worker
 * threads, the summary): the pessimistic figure. csv-parse's is rows / its parse loop only. Peak RSS is
 * GNU time's maximum resident set size of each process (all threads). Each file is also planned with
 * `--out` (a plan file: operation ids, digests, the external sort; the same goals, issue 13) and with
 * `--threads 0`, for comparison.
 */
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cgsyncPlan, type PlanFigures } from './lib/cgsync.js';
import { ensureCsv } from './lib/data.js';
import { lastJsonLine, runNode } from './lib/measure.js';
import { BENCH_BUILD, OUT } from './lib/paths.js';
import {
  emitSection,
  envNumber,
  FULL,
  int,
  kRate,
  machineLine,
  mb,
  note,
  pct,
  secs,
  table,
} from './lib/report.js';

const RSS_GOAL = 300 * 1024 * 1024;

interface Row {
  readonly rows: number;
  readonly order: 'sorted' | 'shuffled';
  readonly bytes: number;
  readonly rawRate: number;
  readonly rawRss: number | undefined;
  readonly planMs: number;
  readonly planRate: number;
  readonly planRss: number | undefined;
  readonly groups: number;
  /** The same plan written to a plan file (`--out`): operation ids and digests computed. */
  readonly outMs: number;
  readonly outRss: number | undefined;
  /** The same summary on one thread (`--threads 0`). */
  readonly oneThreadMs: number;
}

/** Fails unless a plan read every row of the file and rejected none: a partial read is no throughput. */
function checkRows(plan: PlanFigures, rows: number, what: string): PlanFigures {
  if (plan.rows !== rows || plan.rejectedRows !== 0) {
    throw new Error(
      `${what}: the summary counts ${plan.rows} rows (${plan.rejectedRows} rejected), the file has ${rows}`,
    );
  }
  return plan;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
}

async function measure(rows: number, order: 'sorted' | 'shuffled', runs: number): Promise<Row> {
  const path = await ensureCsv({ rows, users: Math.max(1, Math.floor(rows / 10)), order });
  const raws: { rate: number; rss: number | undefined }[] = [];
  const plans: { ms: number; rss: number | undefined; groups: number }[] = [];
  const outs: { ms: number; rss: number | undefined }[] = [];
  const oneThread: number[] = [];
  let bytes = 0;
  for (let run = 0; run < runs; run++) {
    note(`raw csv-parse on ${path}`);
    const raw = await runNode([join(BENCH_BUILD, 'raw-parse.js'), path]);
    const r = lastJsonLine(raw);
    if (Number(r.rows) !== rows)
      throw new Error(`raw csv-parse counted ${String(r.rows)} rows in ${path}, not ${rows}`);
    raws.push({ rate: Number(r.rows) / (Number(r.parseMs) / 1000), rss: raw.peakRssBytes });
    note(`cgsync plan --assume-empty on ${path}`);
    const plan = checkRows(await cgsyncPlan(path), rows, `cgsync plan on ${path}`);
    plans.push({ ms: plan.run.wallMs, rss: plan.run.peakRssBytes, groups: plan.groups });
    note(`cgsync plan --assume-empty --out on ${path}`);
    const planFile = join(OUT, 'plan-throughput.plan.ndjson');
    const out = checkRows(await cgsyncPlan(path, ['--out', planFile]), rows, `cgsync plan --out on ${path}`);
    outs.push({ ms: out.run.wallMs, rss: out.run.peakRssBytes });
    rmSync(planFile, { force: true });
    note(`cgsync plan --assume-empty --threads 0 on ${path}`);
    const single = checkRows(
      await cgsyncPlan(path, ['--threads', '0']),
      rows,
      `cgsync plan --threads 0 on ${path}`,
    );
    oneThread.push(single.run.wallMs);
    bytes = statSync(path).size;
  }
  const planMs = median(plans.map((p) => p.ms));
  return {
    rows,
    order,
    bytes,
    rawRate: median(raws.map((r) => r.rate)),
    rawRss: raws[0]?.rss,
    planMs,
    planRate: rows / (planMs / 1000),
    planRss: plans.every((p) => p.rss !== undefined)
      ? Math.max(...plans.map((p) => p.rss as number))
      : undefined,
    groups: plans[0]?.groups ?? 0,
    outMs: median(outs.map((o) => o.ms)),
    outRss: outs.every((o) => o.rss !== undefined)
      ? Math.max(...outs.map((o) => o.rss as number))
      : undefined,
    oneThreadMs: median(oneThread),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { md: { type: 'string' } } });
  const sizes = (process.env.PLAN_ROWS ?? (FULL ? '1000000,10000000' : '1000000')).split(',').map(Number);
  const runs = envNumber('PLAN_RUNS', 1);
  const header = machineLine();
  const rows: Row[] = [];
  for (const size of sizes) {
    for (const order of ['sorted', 'shuffled'] as const) rows.push(await measure(size, order, runs));
  }
  const speedCheck = (rate: number, raw: number): string => (rate / raw >= 0.5 ? 'yes' : '**no**');
  const rssCheck = (rss: number | undefined): string =>
    rss === undefined ? 'n/a' : rss < RSS_GOAL ? 'yes' : '**no**';
  const verdicts = rows.map((r) => ({
    speed: speedCheck(r.planRate, r.rawRate),
    rss: rssCheck(r.planRss),
    outSpeed: speedCheck(r.rows / (r.outMs / 1000), r.rawRate),
    outRss: rssCheck(r.outRss),
  }));
  await emitSection(values.md, [
    '## Planning throughput (issue 3)',
    '',
    `${header}`,
    '',
    'Command: `npm run bench` (this part alone: `node .bench-build/bench/plan-throughput.js`; `FULL=1` adds 10M rows).',
    `Each file: 1 row per membership, users = rows / 10, 5 group names per user (bench/gen-csv.ts); median of ${runs} run(s).`,
    'cgsync = `cgsync plan <file> --assume-empty --json` as a process, rows / its whole wall time (start-up included);',
    'raw = csv-parse alone (arrays, for-await, bench/raw-parse.ts) as a process, rows / its parse loop.',
    'cgsync reads a file of 8 MiB or more in two parts at once and plans on worker threads (one per core, at most 4);',
    'the summary alone needs no operation ids: `with --out` is the same run writing the plan file (ids, digests, the',
    'external sort, fsync), with the same goals (issue 13); `--threads 0` is the summary on one thread, for comparison (no goal).',
    '',
    table(
      [
        'rows',
        'order',
        'file',
        'csv-parse raw',
        'cgsync plan wall',
        'cgsync rows/s',
        '% of raw',
        '≥ 50%?',
        'cgsync peak RSS',
        '< 300 MB?',
        'raw peak RSS',
        'with --out: wall',
        '% of raw',
        '≥ 50%?',
        'peak RSS',
        '< 300 MB?',
        '--threads 0: wall',
      ],
      rows.map((r, i) => [
        int(r.rows),
        r.order,
        mb(r.bytes),
        kRate(r.rawRate),
        secs(r.planMs),
        kRate(r.planRate),
        pct(r.planRate / r.rawRate),
        verdicts[i]?.speed ?? '',
        mb(r.planRss),
        verdicts[i]?.rss ?? '',
        mb(r.rawRss),
        secs(r.outMs),
        pct(r.rows / (r.outMs / 1000) / r.rawRate),
        verdicts[i]?.outSpeed ?? '',
        mb(r.outRss),
        verdicts[i]?.outRss ?? '',
        secs(r.oneThreadMs),
      ]),
    ),
    '',
    'Every plan’s summary counted all the rows of its file, none rejected (checked: a partial read would fail the bench).',
    'Goals, for the summary alone and with `--out`: peak RSS < 300 MB at 10M shuffled rows; at least 50% of raw csv-parse rows/s.',
  ]);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
