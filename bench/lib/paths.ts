import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this file that holds package.json (works compiled or not). */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('bench: cannot find the repository root (package.json)');
    dir = up;
  }
}

export const ROOT = findRoot();
/** The built CLI (`npm run build`). */
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');
/** Compiled bench scripts (`npx tsc -p tsconfig.json --outDir .bench-build`). */
export const BENCH_BUILD = join(ROOT, '.bench-build', 'bench');
/** Generated data, checkpoints and result sections (git-ignored). */
export const OUT = join(ROOT, 'bench', 'out');
export const DATA = join(OUT, 'data');

/** Credentials of the emulator and of every client in the benches: not a real key. */
export const BENCH_ENV: Readonly<Record<string, string>> = {
  TENCENT_SDKAPPID: '1400000000',
  TENCENT_SECRET_KEY: 'bench-secret-key-not-a-real-one-0123456789abcdef',
  TENCENT_ADMIN: 'administrator',
};

/** The environment for child processes: ours without any TENCENT_* settings, plus the bench credentials. */
export function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TENCENT_')) env[key] = value;
  return { ...env, ...BENCH_ENV };
}
