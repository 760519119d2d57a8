import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { type GenerateCsvOptions, generateCsv } from '../gen-csv.js';
import { generateMixedCsv } from '../gen-mixed.js';
import { DATA } from './paths.js';
import { note } from './report.js';

/**
 * A generated CSV under bench/out/data, named after its options and generated only when missing
 * (gen-csv is deterministic, so a cached file has the same bytes).
 */
export async function ensureCsv(options: Omit<GenerateCsvOptions, 'path'>): Promise<string> {
  await mkdir(DATA, { recursive: true });
  const name = [
    `rows${options.rows}`,
    `users${options.users}`,
    `g${options.groupsPerUser ?? 5}`,
    options.order ?? 'sorted',
    `s${options.seed ?? 1}`,
  ].join('-');
  const path = join(DATA, `${name}.csv`);
  if (existsSync(path)) return path;
  note(`generating ${path}`);
  const partial = `${path}.partial`;
  await generateCsv({ ...options, path: partial });
  await rename(partial, path);
  return path;
}

/** The mixed export of bench/gen-mixed.ts under bench/out/data, generated only when missing. */
export async function ensureMixedCsv(users: number, seed = 1): Promise<string> {
  await mkdir(DATA, { recursive: true });
  const path = join(DATA, `mixed-users${users}-s${seed}.csv`);
  if (existsSync(path)) return path;
  note(`generating ${path}`);
  const partial = `${path}.partial`;
  await generateMixedCsv({ path: partial, users, seed });
  await rename(partial, path);
  return path;
}
