/**
 * Deterministic CSV generator for benchmarks and the demo sample.
 *
 * Every row is a pure function of (seed, index in user order), so `sorted` and `shuffled` files hold
 * exactly the same rows; `shuffled` only permutes them (a keyed Feistel permutation, no memory).
 * Writes are streamed in ~1 MB chunks, so 10M rows take seconds and constant memory.
 *
 * CLI (after compiling, e.g. `npx tsc -p tsconfig.json --outDir .bench-build`):
 *   node .bench-build/bench/gen-csv.js --out big.csv --rows 1000000 --users 100000 \
 *     [--seed 1] [--order sorted|shuffled] [--header canonical|short] [--crlf] [--groups 5]
 */
import { open } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** Options of {@link generateCsv}. */
export interface GenerateCsvOptions {
  /** File to write (replaced if it exists). */
  readonly path: string;
  /** Data rows to write (the header is extra). */
  readonly rows: number;
  /** Distinct users; each gets `rows / users` rows, give or take one. */
  readonly users: number;
  /** @default 1 */
  readonly seed?: number;
  /** `sorted`: each user's rows contiguous, users in ascending order. `shuffled`: a random permutation. @default 'sorted' */
  readonly order?: 'sorted' | 'shuffled';
  /** `canonical`: From_Account,GroupName,Type,To_Account,ToGroupId. `short`: user,group,type,peer. @default 'canonical' */
  readonly header?: 'canonical' | 'short';
  /** Line ending. @default '\n' */
  readonly eol?: '\n' | '\r\n';
  /** Distinct group names a user draws from (keep ≤ 20 for users within the limits). @default 5 */
  readonly groupsPerUser?: number;
  /** Prefix a UTF-8 byte order mark. @default false */
  readonly bom?: boolean;
}

/** What was written. */
export interface GenerateCsvResult {
  readonly rows: number;
  readonly bytes: number;
}

const GROUP_NAMES = [
  'Family',
  'Work',
  'Friends',
  'VIP',
  'Project Apollo',
  '客户',
  '同事',
  'Friends, close',
  'Book club 📚',
  'Gym',
  'Neighbours',
  'School "A"',
  '家人',
  'Suppliers',
  'Travel 2026',
  'Archive',
  'Team-7',
  'Chess',
  'Sales EMEA',
  'Support',
];

/** 32-bit mix of two integers (murmur3 finaliser on a combined key). */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A bijection on [0, n) keyed by `seed`: a balanced Feistel network over the smallest even bit width
 * that covers n, with cycle walking to stay inside the domain.
 */
function createPermutation(n: number, seed: number): (i: number) => number {
  let bits = 2;
  while (2 ** bits < n) bits += 2;
  const half = bits / 2;
  const mask = 2 ** half - 1;
  const rounds = 4;
  return (i: number): number => {
    let x = i;
    do {
      let left = Math.floor(x / 2 ** half);
      let right = x % 2 ** half;
      for (let r = 0; r < rounds; r++) {
        const next = (left ^ (mix(right, seed * 31 + r) & mask)) >>> 0;
        left = right;
        right = next;
      }
      x = left * 2 ** half + right;
    } while (x >= n);
    return x;
  };
}

function quote(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Writes a deterministic CSV. The same options always give the same bytes. */
export async function generateCsv(options: GenerateCsvOptions): Promise<GenerateCsvResult> {
  const { path, rows, users } = options;
  if (!Number.isInteger(rows) || rows < 0)
    throw new Error(`Expected \`rows\` to be an integer ≥ 0, got ${rows}`);
  if (!Number.isInteger(users) || users < 1 || users > Math.max(1, rows)) {
    throw new Error(`Expected \`users\` to be an integer from 1 to rows, got ${users}`);
  }
  const seed = options.seed ?? 1;
  const eol = options.eol ?? '\n';
  const short = options.header === 'short';
  const groupsPerUser = Math.min(options.groupsPerUser ?? 5, GROUP_NAMES.length);
  const width = String(users).length;
  const permute = options.order === 'shuffled' ? createPermutation(rows, seed) : (i: number) => i;

  const rowAt = (index: number): string => {
    // Users own contiguous index ranges, so index order is user order.
    const user = Math.floor((index * users) / rows);
    const h1 = mix(seed, index);
    const h2 = mix(h1, user);
    const group = GROUP_NAMES[(mix(user, seed) + (h1 % groupsPerUser)) % GROUP_NAMES.length]!;
    const from = `user_${pad(user, width)}`;
    const kind = h2 % 100;
    if (kind < 2) return short ? `${from},${quote(group)},,` : `${from},${quote(group)},,,`;
    if (kind < 72) {
      const peer = `user_${pad(h2 % users, width)}`;
      return short ? `${from},${quote(group)},c2c,${peer}` : `${from},${quote(group)},1,${peer},`;
    }
    const groupId = `@TGS#${(h2 % 1_000_000).toString(36).toUpperCase()}`;
    return short ? `${from},${quote(group)},group,${groupId}` : `${from},${quote(group)},2,,${groupId}`;
  };

  const file = await open(path, 'w');
  let bytes = 0;
  try {
    let buffer = `${options.bom === true ? '\ufeff' : ''}${short ? 'user,group,type,peer' : 'From_Account,GroupName,Type,To_Account,ToGroupId'}${eol}`;
    for (let i = 0; i < rows; i++) {
      buffer += rowAt(permute(i)) + eol;
      if (buffer.length >= 1 << 20) {
        const chunk = Buffer.from(buffer, 'utf8');
        await file.write(chunk);
        bytes += chunk.length;
        buffer = '';
      }
    }
    const chunk = Buffer.from(buffer, 'utf8');
    await file.write(chunk);
    bytes += chunk.length;
  } finally {
    await file.close();
  }
  return { rows, bytes };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      rows: { type: 'string', default: '1000000' },
      users: { type: 'string' },
      seed: { type: 'string', default: '1' },
      order: { type: 'string', default: 'sorted' },
      header: { type: 'string', default: 'canonical' },
      groups: { type: 'string', default: '5' },
      crlf: { type: 'boolean', default: false },
      bom: { type: 'boolean', default: false },
    },
  });
  if (values.out === undefined) throw new Error('Expected --out <file.csv>');
  if (values.order !== 'sorted' && values.order !== 'shuffled') {
    throw new Error(`Expected --order sorted|shuffled, got ${values.order}`);
  }
  if (values.header !== 'canonical' && values.header !== 'short') {
    throw new Error(`Expected --header canonical|short, got ${values.header}`);
  }
  const rows = Number(values.rows);
  const started = performance.now();
  const result = await generateCsv({
    path: values.out,
    rows,
    users: values.users === undefined ? Math.max(1, Math.floor(rows / 10)) : Number(values.users),
    seed: Number(values.seed),
    order: values.order,
    header: values.header,
    groupsPerUser: Number(values.groups),
    eol: values.crlf ? '\r\n' : '\n',
    bom: values.bom,
  });
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `wrote ${values.out}: ${result.rows} rows, ${result.bytes} bytes in ${seconds.toFixed(1)} s\n`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
