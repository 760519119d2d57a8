import { spawnSync } from 'node:child_process';
import { readdirSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');

/**
 * Builds dist/ before the suite, so tests that run `cgsync` as a real process (signals, exit codes,
 * kill -9) run the code under test. A failed build (a type error included: then dist/ would not be
 * what the sources say) fails the whole suite with tsc's output, and files in dist/ that this build
 * did not write (left by sources since deleted or renamed) are removed, so no stale module can be
 * imported by a process test.
 */
export default function setup(): void {
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const build = spawnSync(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--listEmittedFiles', '--pretty', 'false'],
    { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const output = `${build.stdout ?? ''}${build.stderr ?? ''}`;
  if (build.error !== undefined || build.status !== 0) {
    const errors = output
      .split('\n')
      .filter((line) => !line.startsWith('TSFILE: '))
      .join('\n')
      .trim();
    throw new Error(
      `test/global-setup.ts: the build failed (tsc -p tsconfig.build.json, ${
        build.error?.message ?? `exit ${String(build.status)}`
      }); the process tests would run a stale dist/. Fix it first:\n${errors}`,
    );
  }
  const emitted = new Set<string>();
  for (const line of output.split('\n')) {
    if (line.startsWith('TSFILE: ')) emitted.add(resolve(ROOT, line.slice('TSFILE: '.length).trim()));
  }
  if (emitted.size === 0)
    throw new Error('test/global-setup.ts: tsc reported no emitted file; is noEmit set?');
  removeStale(DIST, emitted);
}

/** Deletes every file under `dir` that is not in `keep` (absolute paths). */
export function removeStale(dir: string, keep: ReadonlySet<string>): string[] {
  const removed: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (keep.has(path)) continue;
    unlinkSync(path);
    removed.push(path);
  }
  return removed;
}
