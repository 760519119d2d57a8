import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Programs some suites need from the machine (not from npm): on a fresh machine `npm ci && npm test`
 * must still pass, so outside CI a suite whose program is missing is skipped, with one line saying
 * how to install it; in CI (`CI=true`, as .ci/run sets) the program is required and its absence
 * fails the suite.
 */
export interface MachineProgram {
  /** The command name looked up on PATH, e.g. `redis-server`. */
  readonly command: string;
  /** What needs it, for the message, e.g. `the Redis suites`. */
  readonly neededBy: string;
}

/** The environment variable that points a program at another path (tests of this very rule use it). */
export function overrideVariable(command: string): string {
  return `CGSYNC_TEST_${command.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** Where `command` is: `$CGSYNC_TEST_<COMMAND>` when set (a path), else the first executable on PATH. */
export function findProgram(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const override = env[overrideVariable(command)];
  const candidates =
    override !== undefined && override !== ''
      ? [override]
      : (env.PATH ?? '').split(delimiter).map((dir) => join(dir || '.', command));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** True when the environment says this is CI (`CI` set to anything but empty, `0` or `false`). */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.CI;
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/**
 * The path of a program a suite needs, or undefined to skip the suite (after one line on stderr
 * saying how to install it). Throws in CI, where every suite must run.
 */
export function requireProgram(
  program: MachineProgram,
  env: NodeJS.ProcessEnv = process.env,
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): string | undefined {
  const path = findProgram(program.command, env);
  if (path !== undefined) return path;
  const install = 'run `bash .ci/services.sh` to install it';
  if (inCi(env)) {
    throw new Error(`${program.command} is not installed, and CI requires ${program.neededBy}: ${install}`);
  }
  warn(`skipping ${program.neededBy}: ${program.command} is not installed (${install})`);
  return undefined;
}
