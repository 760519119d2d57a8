import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../../src/emulator/index.js';

export const CANONICAL_HEADER = 'From_Account,GroupName,Type,To_Account,ToGroupId';

/** Names that exercise quoting and UTF-8 (≤ 64 bytes each). */
const GROUP_NAMES = [
  'Family',
  'Work',
  '"Friends, close"',
  '客户',
  'VIP',
  '"Book ""club"" 📚"',
  '同事',
  'Gym',
];

/** Options of {@link writeFaultCsv}. */
export interface FaultCsvOptions {
  readonly users: number;
  /** Rows per user, on average (each user gets 1 to 2×avg−1). */
  readonly rowsPerUser: number;
  /** Distinct groups a user draws from (≤ 8). @default 4 */
  readonly groupsPerUser?: number;
  /** @default 1 */
  readonly seed?: number;
  /** A user ID prefix, so two inputs can share an emulator. @default 'u' */
  readonly prefix?: string;
}

/**
 * A deterministic canonical CSV (users in order, within every limit): c2c and group conversations,
 * quoted names with commas and doubled quotes, Chinese and emoji, and an empty group now and then.
 * Streams, so 1M rows take constant memory. Returns the number of data rows written.
 */
export async function writeFaultCsv(path: string, options: FaultCsvOptions): Promise<number> {
  const random = mulberry32(options.seed ?? 1);
  const groups = Math.min(GROUP_NAMES.length, options.groupsPerUser ?? 4);
  const prefix = options.prefix ?? 'u';
  const out = createWriteStream(path);
  let rows = 0;
  let buffer = `${CANONICAL_HEADER}\n`;
  const flush = async () => {
    if (!out.write(buffer)) await once(out, 'drain');
    buffer = '';
  };
  for (let u = 0; u < options.users; u++) {
    const user = `${prefix}${String(u).padStart(6, '0')}`;
    const count = 1 + Math.floor(random() * (2 * options.rowsPerUser - 1));
    for (let r = 0; r < count; r++) {
      const group = GROUP_NAMES[Math.floor(random() * groups)] as string;
      const pick = random();
      if (pick < 0.03) buffer += `${user},${group},,,\n`;
      else if (pick < 0.7) buffer += `${user},${group},1,p${Math.floor(random() * 5000)},\n`;
      else buffer += `${user},${group},2,,@TGS#${Math.floor(random() * 500)}\n`;
      rows++;
    }
    if (buffer.length > 64 * 1024) await flush();
  }
  await flush();
  out.end();
  await once(out, 'close');
  return rows;
}

/** A fresh temporary directory; `remove` deletes it with everything in it. */
export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `cgsync-faults-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Resolves once `check()` is true, polling every `everyMs`; false when `until` settles first. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  until: Promise<unknown>,
  everyMs = 10,
): Promise<boolean> {
  let done = false;
  void until.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  while (!done) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}
