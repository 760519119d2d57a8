import { PassThrough } from 'node:stream';
import type { CliIo } from '../../src/cli/io.js';

export interface MemoryIo extends CliIo {
  out(): string;
  err(): string;
}

/** A CliIo that collects stdout and stderr in memory. */
export function memoryIo(
  env: Record<string, string | undefined> = {},
  cwd = process.cwd(),
  signal?: AbortSignal,
): MemoryIo {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  stderr.on('data', (d: Buffer) => {
    err += d.toString('utf8');
  });
  return {
    stdout,
    stderr,
    env,
    cwd,
    ...(signal === undefined ? {} : { signal }),
    out: () => out,
    err: () => err,
  };
}
