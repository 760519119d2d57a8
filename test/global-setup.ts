import { execFileSync } from 'node:child_process';

/**
 * Builds dist/ once before the suite, so tests that run `cgsync` as a real process (signals, exit
 * codes, kill -9) run the code under test, not a stale build. Type errors are the typecheck's job
 * (npm run typecheck); tsc still emits, so they don't stop the suite here.
 */
export default function setup(): void {
  try {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
      stdio: 'pipe',
    });
  } catch {
    // reported by `npm run typecheck`
  }
}
