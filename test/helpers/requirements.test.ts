import { describe, expect, it } from 'vitest';
import { findProgram, inCi, overrideVariable, requireProgram } from './requirements.js';

const program = { command: 'redis-server', neededBy: 'the Redis suites' };
const missing = { [overrideVariable('redis-server')]: '/nonexistent/redis-server', PATH: '/usr/bin:/bin' };

describe('programs the suites need from the machine', () => {
  it('outside CI, a missing program skips its suites with one line saying how to install it', () => {
    const lines: string[] = [];
    expect(requireProgram(program, { ...missing }, (l) => lines.push(l))).toBeUndefined();
    expect(lines).toEqual([
      'skipping the Redis suites: redis-server is not installed (run `bash .ci/services.sh` to install it)',
    ]);
  });

  it('in CI, a missing program fails', () => {
    for (const ci of ['true', '1', 'yes']) {
      expect(() => requireProgram(program, { ...missing, CI: ci }, () => {})).toThrow(
        'redis-server is not installed, and CI requires the Redis suites: run `bash .ci/services.sh` to install it',
      );
    }
    for (const ci of ['', '0', 'false', 'FALSE']) expect(inCi({ CI: ci })).toBe(false);
  });

  it('finds a program on PATH, or where the override points', () => {
    expect(findProgram('node', { PATH: `/nonexistent:${process.execPath.replace(/\/node$/, '')}` })).toBe(
      process.execPath,
    );
    expect(findProgram('node', { PATH: '/nonexistent' })).toBeUndefined();
    expect(findProgram('node', { PATH: '', [overrideVariable('node')]: process.execPath })).toBe(
      process.execPath,
    );
    const lines: string[] = [];
    expect(
      requireProgram(
        { command: 'node', neededBy: 'x' },
        { PATH: '', CI: 'true', [overrideVariable('node')]: process.execPath },
        (l) => lines.push(l),
      ),
    ).toBe(process.execPath);
    expect(lines).toEqual([]);
  });
});
