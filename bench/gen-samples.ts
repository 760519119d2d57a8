/**
 * Writes the generated samples: `samples/limits.csv` and `samples/demo.csv`. Deterministic: the
 * samples test regenerates both and compares bytes, so they cannot drift from this script.
 *
 *   npx tsc -p tsconfig.json --outDir .bench-build && node .bench-build/bench/gen-samples.js [samplesDir]
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type GenerateCsvOptions, generateCsv } from './gen-csv.js';

/** `samples/demo.csv`: a few hundred users, a realistic mix, every user within the limits. */
export const DEMO_OPTIONS: Omit<GenerateCsvOptions, 'path'> = {
  rows: 2000,
  users: 300,
  seed: 42,
  order: 'sorted',
  header: 'canonical',
  groupsPerUser: 6,
};

const pad = (n: number, width = 4) => String(n).padStart(width, '0');

/** 21 Chinese characters (63 bytes) and one ASCII letter: exactly 64 UTF-8 bytes. */
export const CHINESE_64 = `${'会话分组名称测试'.repeat(3).slice(0, 21)}A`;
/** 16 four-byte emoji: exactly 64 UTF-8 bytes. */
export const EMOJI_64 = '😀😃😄😁😆😅😂🤣😊😇🙂🙃😉😌😍🥰';
/** One byte over: 65. */
export const CHINESE_65 = `${CHINESE_64}B`;

/**
 * `samples/limits.csv`: users at and over the per-user limits, and group names at and over 64 bytes.
 * - `twenty_groups`: 20 groups (the limit) · `many_groups`: 21 groups (over)
 * - `thousand_convs`: 1000 distinct conversations (the limit)
 * - `many_convs`: 1001 distinct conversations in 1002 memberships (peer_0001 is in two groups)
 * - `long_names`: a Chinese and an emoji group name of exactly 64 bytes, and one of 65 (rejected)
 */
export function limitsCsv(): string {
  const rows = ['From_Account,GroupName,Type,To_Account,ToGroupId'];
  for (let g = 1; g <= 20; g++) rows.push(`twenty_groups,group_${pad(g, 2)},1,peer_${pad(g)},`);
  for (let g = 1; g <= 21; g++) rows.push(`many_groups,group_${pad(g, 2)},1,peer_${pad(g)},`);
  for (let c = 1; c <= 1000; c++) {
    rows.push(c <= 600 ? `thousand_convs,Big A,1,peer_${pad(c)},` : `thousand_convs,Big B,2,,@TGS#${pad(c)}`);
  }
  for (let c = 1; c <= 500; c++) rows.push(`many_convs,Big A,1,peer_${pad(c)},`);
  for (let c = 501; c <= 900; c++) rows.push(`many_convs,Big B,1,peer_${pad(c)},`);
  rows.push('many_convs,Big B,1,peer_0001,');
  for (let c = 1; c <= 101; c++) rows.push(`many_convs,Big C,2,,@TGS#${pad(c)}`);
  rows.push(`long_names,${CHINESE_64},1,peer_0001,`);
  rows.push(`long_names,${EMOJI_64},2,,@TGS#0001`);
  rows.push(`long_names,${CHINESE_65},1,peer_0002,`);
  return `${rows.join('\n')}\n`;
}

/** The bytes of the demo sample. */
export async function demoCsv(): Promise<Buffer> {
  const path = join(tmpdir(), `cgsync-demo-${process.pid}-${Date.now()}.csv`);
  try {
    await generateCsv({ ...DEMO_OPTIONS, path });
    return await readFile(path);
  } finally {
    await rm(path, { force: true });
  }
}

async function main(): Promise<void> {
  const dir = process.argv[2] ?? 'samples';
  await writeFile(join(dir, 'limits.csv'), limitsCsv());
  await writeFile(join(dir, 'demo.csv'), await demoCsv());
  process.stdout.write(`wrote ${join(dir, 'limits.csv')} and ${join(dir, 'demo.csv')}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
