import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const MARK = '<!-- library-example';

/** The README's library example: the ```js block after its marker. */
function readmeExample(readme: string): string {
  const mark = readme.indexOf(MARK);
  const open = readme.indexOf('```js\n', mark);
  const close = readme.indexOf('\n```\n', open);
  if (mark < 0 || open < 0 || close < 0) throw new Error('README.md: no library example after its marker');
  return readme.slice(open + '```js\n'.length, close + 1);
}

function run(command: string, args: string[], cwd: string, timeout = 90_000): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, encoding: 'utf8', timeout, maxBuffer: 16 * 1024 * 1024 });
}

function ok(result: SpawnSyncReturns<string>, what: string): string {
  if (result.error !== undefined || result.status !== 0) {
    throw new Error(
      `${what} failed (${result.error?.message ?? `exit ${String(result.status)}`}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/**
 * The package as a user gets it: `npm pack` (of the dist/ the global setup just built, so without
 * running `prepare` again), installed into an empty folder from the npm cache (from the registry only
 * when the cache lacks a dependency), and the README's example run there with node, and type-checked
 * as TypeScript against the package's own declarations.
 */
describe('the packed package', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cgsync-pack-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('installs into an empty folder and runs the README example', { timeout: 120_000 }, async () => {
    const packed = JSON.parse(
      ok(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT), 'npm pack'),
    ) as { filename: string; files: { path: string }[] }[];
    const tarball = join(dir, packed[0]?.filename ?? 'missing.tgz');
    const files = (packed[0]?.files ?? []).map((f) => f.path);
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/api/apply.js');
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);

    const app = join(dir, 'app');
    await mkdir(app);
    writeFileSync(join(app, 'package.json'), '{ "private": true, "type": "module" }\n');
    const install = ['install', '--no-audit', '--no-fund', '--ignore-scripts', tarball];
    let installed = run('npm', ['--offline', ...install], app);
    // A dependency missing from the npm cache: the registry, once (it fills the cache for next time).
    if (installed.status !== 0 && /ENOTCACHED/.test(installed.stderr)) installed = run('npm', install, app);
    ok(installed, 'npm install of the tarball');
    expect(readdirSync(join(app, 'node_modules'))).toContain('cgsync');

    const example = readmeExample(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    writeFileSync(join(app, 'example.mjs'), example);
    const ran = run(process.execPath, ['example.mjs'], app, 60_000);
    expect(ok(ran, 'node example.mjs').trim().split('\n')).toEqual([
      'phase: scan',
      'phase: write',
      'phase: flush',
      'apply: ok, 2 users done',
      'verify: 0 of 2 users differ',
    ]);
    expect(ran.stderr).toBe('');

    // The same text is valid TypeScript against the installed declarations.
    writeFileSync(join(app, 'example.mts'), example);
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const checked = run(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--target',
        'es2022',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--types',
        'node',
        '--typeRoots',
        join(ROOT, 'node_modules/@types'),
        'example.mts',
      ],
      app,
    );
    ok(checked, 'tsc on the example');
  });

  it('finds the example in the README', () => {
    expect(readmeExample(`x\n${MARK} -->\n\`\`\`js\nconsole.log(1);\n\`\`\`\n`)).toBe('console.log(1);\n');
    expect(() => readmeExample('no example')).toThrow(/no library example/);
  });
});
