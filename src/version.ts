import { readFileSync } from 'node:fs';

/** The package version, read once from package.json next to dist/ (or src/ in tests). */
export const VERSION: string = (() => {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    if (
      typeof pkg === 'object' &&
      pkg !== null &&
      typeof (pkg as { version?: unknown }).version === 'string'
    ) {
      return (pkg as { version: string }).version;
    }
  } catch {
    // fall through
  }
  return '0.0.0';
})();
