import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layers of src/ (README, "Development"): a folder may import its own files and the layers below
 * it, never a layer above or a folder of its own layer. The files at the top of src/ are the ground
 * (they import only each other); src/index.ts, the public API, re-exports from anywhere.
 */
const LAYERS: Record<string, number> = {
  '': 0, // the ground: errors, model, log, atomic-file, version, work-dir, threads, thread-pool
  reader: 1,
  tencent: 1,
  planner: 2,
  emulator: 2,
  executor: 3,
  parallel: 3,
  sync: 4,
  cli: 5,
};

const SRC = resolve(import.meta.dirname, '../src');

/** Every .ts file under src/, relative to it. */
function sources(): string[] {
  return readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(SRC, join(e.parentPath, e.name)));
}

/** The relative modules a file imports or re-exports (type-only ones too: they are dependencies). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*'([^']+)'/g)].map((m) => m[1]!);
  const dynamic = [...text.matchAll(/import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]!);
  return [...specs, ...dynamic]
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(SRC, resolve(SRC, dirname(file), s)).replace(/\.js$/, '.ts'));
}

/** The top-level folder of a file ('' for the ground). */
function folderOf(file: string): string {
  return file.includes('/') ? file.slice(0, file.indexOf('/')) : '';
}

/** Why `file` may not import `target`, or undefined when it may. */
function violation(file: string, target: string): string | undefined {
  if (file === 'index.ts') return undefined;
  const from = folderOf(file);
  const to = folderOf(target);
  if (from === to) return undefined;
  const a = LAYERS[from];
  const b = LAYERS[to];
  if (a === undefined || b === undefined) return `${from || to} is in no layer`;
  if (b > a) return `${from || 'the ground'} (layer ${a}) points up to ${to} (layer ${b})`;
  if (b === a) return `${from || 'the ground'} and ${to} are one layer: neither imports the other`;
  // Outside the reader, only its one public entry.
  if (to === 'reader' && target !== 'reader/index.ts')
    return 'the reader is imported through reader/index.ts';
  return undefined;
}

describe('the layers of src/', () => {
  it('point down only, and reach the reader through its entry', () => {
    const found: string[] = [];
    for (const file of sources()) {
      for (const target of importsOf(file)) {
        const why = violation(file, target);
        if (why !== undefined) found.push(`src/${file} imports src/${target}: ${why}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('would catch an import that points up, across a layer, or into the reader', () => {
    expect(violation('reader/scan-input.ts', 'parallel/plan-pool.ts')).toMatch(/points up/);
    expect(violation('errors.ts', 'cli/run.ts')).toMatch(/points up/);
    expect(violation('executor/run-apply.ts', 'parallel/plan-pool.ts')).toMatch(/one layer/);
    expect(violation('sync/plan-job.ts', 'reader/scan-input.ts')).toMatch(/reader\/index\.ts/);
    expect(violation('sync/plan-job.ts', 'parallel/plan-on-threads.ts')).toBeUndefined();
    expect(violation('reader/csv/header.ts', 'reader/types.ts')).toBeUndefined();
    expect(importsOf('sync/plan-job.ts')).toContain('parallel/plan-on-threads.ts');
    expect(sources()).toContain('reader/index.ts');
  });
});
