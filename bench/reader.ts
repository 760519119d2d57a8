/**
 * Reader throughput against raw csv-parse on the same file.
 *
 *   npx tsc -p tsconfig.json --outDir .bench-build
 *   node .bench-build/bench/gen-csv.js --out /tmp/1m.csv --rows 1000000 --users 100000 [--order shuffled]
 *   node --expose-gc .bench-build/bench/reader.js /tmp/1m.csv [--runs 3] [--partition-mb 2]
 *
 * Prints, per run: raw csv-parse rows/s (arrays, `bom: true`, for-await: the fastest plain use),
 * scan (pass 1) and users (pass 2) seconds, total reader rows/s and its ratio to raw, users read,
 * and the peak RSS / heap sampled every 50 ms.
 */
import { createReadStream } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse';
import { scanInput } from '../src/reader/scan-input.js';

interface Peak {
  rss: number;
  heap: number;
}

function samplePeak(): { stop: () => Peak } {
  const peak: Peak = { rss: 0, heap: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heap = Math.max(peak.heap, m.heapUsed);
  };
  const timer = setInterval(sample, 50);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

async function rawRowsPerSecond(path: string): Promise<{ rows: number; seconds: number }> {
  const started = performance.now();
  let rows = 0;
  for await (const _record of createReadStream(path).pipe(parse({ bom: true }))) rows++;
  return { rows: rows - 1, seconds: (performance.now() - started) / 1000 };
}

async function readerRun(path: string, partitionBytes: number | undefined) {
  const peak = samplePeak();
  const started = performance.now();
  const scan = await scanInput(path, partitionBytes === undefined ? {} : { partitionBytes });
  const scanned = performance.now();
  let users = 0;
  let memberships = 0;
  for await (const user of scan.users()) {
    users++;
    for (const group of user.groups) memberships += group.conversations.length;
  }
  const done = performance.now();
  return {
    scanSeconds: (scanned - started) / 1000,
    usersSeconds: (done - scanned) / 1000,
    rows: scan.summary.rows,
    users,
    memberships,
    grouped: scan.summary.grouped,
    partitions: scan.summary.partitions,
    peak: peak.stop(),
  };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { runs: { type: 'string', default: '3' }, 'partition-mb': { type: 'string' } },
  });
  const path = positionals[0];
  if (path === undefined) throw new Error('Expected a CSV path');
  const runs = Number(values.runs);
  const partitionMb = values['partition-mb'];
  const partitionBytes =
    partitionMb === undefined ? undefined : Math.round(Number(partitionMb) * 1024 * 1024);
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let run = 1; run <= runs; run++) {
    gc?.();
    const raw = await rawRowsPerSecond(path);
    gc?.();
    const r = await readerRun(path, partitionBytes);
    const rawRate = raw.rows / raw.seconds;
    const total = r.scanSeconds + r.usersSeconds;
    const rate = r.rows / total;
    process.stdout.write(
      `run ${run}: raw ${Math.round(rawRate / 1000)}k rows/s | reader scan ${r.scanSeconds.toFixed(2)} s + users ${r.usersSeconds.toFixed(2)} s = ${Math.round(rate / 1000)}k rows/s (${((rate / rawRate) * 100).toFixed(0)}% of raw) | ${r.users} users, ${r.memberships} conversations, ${r.grouped ? 'grouped' : `${r.partitions} partitions`} | peak rss ${mb(r.peak.rss)}, heap ${mb(r.peak.heap)}\n`,
    );
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
