import { fileURLToPath } from 'node:url';

/** The built CLI entry point (test/global-setup.ts builds it before the suite). */
export const CLI_MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
