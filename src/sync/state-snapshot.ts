import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../atomic-file.js';
import { SyncError } from '../errors.js';
import type { Mode } from '../model.js';

/**
 * The `--state` snapshot: per applied user, the digest of the desired state that was applied. The next
 * run skips users whose digest did not change (no API call at all) unless `--refresh`.
 * JSON, written atomically (temporary file, fsync, rename) with mode 0600. Holds no secrets.
 */
export interface StateSnapshot {
  readonly mode: Mode;
  /** `i/n` when written by a sharded run: one snapshot per shard. */
  readonly shard: string | null;
  readonly users: Map<string, string>;
}

const FORMAT = 'cgsync-state';

export async function loadSnapshot(
  path: string,
  expect: { mode: Mode; shard: string | null },
): Promise<StateSnapshot> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ...expect, users: new Map() };
    throw new SyncError('IO', `state file ${path} cannot be read`, { path }, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SyncError('CHECKPOINT', `state file ${path} is not valid JSON; delete it to start afresh`, {
      path,
    });
  }
  const v = value as {
    format?: unknown;
    version?: unknown;
    mode?: unknown;
    shard?: unknown;
    users?: unknown;
  };
  if (typeof value !== 'object' || value === null || v.format !== FORMAT || v.version !== 1) {
    throw new SyncError('CHECKPOINT', `${path} is not a cgsync state file (format ${FORMAT}, version 1)`, {
      path,
    });
  }
  if ((v.shard ?? null) !== expect.shard) {
    throw new SyncError(
      'CHECKPOINT',
      `state file ${path} belongs to shard ${String(v.shard ?? 'none')}, this run is shard ${expect.shard ?? 'none'}: use one state file per shard`,
      { path },
    );
  }
  const users = new Map<string, string>();
  if (typeof v.users === 'object' && v.users !== null) {
    for (const [user, digest] of Object.entries(v.users as Record<string, unknown>)) {
      if (typeof digest === 'string') users.set(user, digest);
    }
  }
  // A snapshot taken in another mode says nothing about this one: everyone is planned afresh.
  return { mode: expect.mode, shard: expect.shard, users: v.mode === expect.mode ? users : new Map() };
}

export async function saveSnapshot(path: string, snapshot: StateSnapshot): Promise<void> {
  const users: Record<string, string> = {};
  for (const user of [...snapshot.users.keys()].sort()) users[user] = snapshot.users.get(user) as string;
  const body = `${JSON.stringify({ format: FORMAT, version: 1, mode: snapshot.mode, shard: snapshot.shard, users })}\n`;
  try {
    await writeFileAtomic(path, body);
  } catch (err) {
    throw new SyncError(
      'IO',
      `state file ${path} cannot be written: ${(err as Error).message}`,
      { path },
      { cause: err },
    );
  }
}
