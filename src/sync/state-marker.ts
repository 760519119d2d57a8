import { readFile, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import { syncDirectory, writeFileAtomic } from '../atomic-file.js';
import { SyncError } from '../errors.js';
import { loadCheckpoint } from '../executor/log/checkpoint-load.js';
import { openStateFile, StateFileWriter, type StateIdentity, UNKNOWN_DIGEST } from './state-file.js';

/**
 * `<state>.unsaved`: written (fsynced) before a `--state` run's first write, removed once the run has
 * saved the snapshot. Still there at the next run, it says that a run changed users in the app and
 * never saved the snapshot (killed with SIGKILL, out of memory, a power cut, a second signal): the
 * snapshot's lines for the users that run began would vouch for rows the app may no longer hold.
 * The users it began are in its checkpoint, which the file names.
 */
export function markerPathFor(state: string): string {
  return `${state}.unsaved`;
}

interface Marker {
  /** The absolute path of the checkpoint of the run that wrote it. */
  readonly checkpoint: string;
  readonly pid: number;
  readonly startedAt: string;
}

/** Marks `state` as being applied by the run of `checkpoint`, durably, before its first write. */
export async function markStateUnsaved(state: string, checkpoint: string): Promise<void> {
  const marker: Marker = {
    checkpoint: resolve(checkpoint),
    pid: process.pid,
    startedAt: new Date().toISOString(),
  };
  try {
    await writeFileAtomic(markerPathFor(state), `${JSON.stringify(marker)}\n`);
  } catch (err) {
    throw new SyncError(
      'IO',
      `state file ${state}: cannot write ${markerPathFor(state)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { path: markerPathFor(state) },
      { cause: err },
    );
  }
}

/** The snapshot was saved (or the run wrote nothing): the mark goes. */
export async function clearStateMark(state: string): Promise<void> {
  const path = markerPathFor(state);
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new SyncError('IO', `state file ${state}: cannot remove ${path}`, { path }, { cause: err });
  }
  await syncDirectory(path);
}

/** What {@link repairUnsavedState} did. */
export type StateRepair =
  | { readonly kind: 'none' }
  /** The users the stopped run began lost their digests (read again); `checkpoint` is that run's. */
  | { readonly kind: 'repaired'; readonly checkpoint: string; readonly users: number }
  /** `--refresh`, the stopped run's checkpoint unreadable: every user lost its digest. */
  | { readonly kind: 'refresh'; readonly reason: string; readonly users: number };

/**
 * Before a `--state` run reads the snapshot: when a run left `<state>.unsaved`, the lines of the users
 * it began (its checkpoint's) get the digest {@link UNKNOWN_DIGEST}, the snapshot is rewritten
 * atomically and the mark removed. Such a user then never counts as unchanged: in the export it is
 * read and planned; in mirror mode, gone from the export, it is emptied (its counts, kept, still
 * weigh in the guard). The same holds when this run resumes that checkpoint: its users done come out
 * as done before. When the checkpoint cannot be read, the run is refused, unless `refresh`: then
 * every line gets the unknown digest.
 */
export async function repairUnsavedState(
  state: string,
  identity: StateIdentity,
  options: { readonly refresh?: boolean },
): Promise<StateRepair> {
  const path = markerPathFor(state);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    throw new SyncError('IO', `state file ${state}: cannot read ${path}`, { path }, { cause: err });
  }
  const marker = parseMarker(text);
  let begun: Set<string> | undefined;
  let reason = `${path} does not name a checkpoint`;
  if (marker !== undefined) {
    try {
      const loaded = await loadCheckpoint(marker.checkpoint);
      begun = new Set([...loaded.begun.keys(), ...loaded.done]);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      reason = err instanceof SyncError || typeof code !== 'string' ? (err as Error).message : code;
    }
  }
  if ((marker === undefined || begun === undefined) && options.refresh !== true) {
    const which =
      marker === undefined
        ? 'a run'
        : `the run of checkpoint ${marker.checkpoint} (pid ${marker.pid}, started ${marker.startedAt})`;
    throw new SyncError(
      'CHECKPOINT',
      `state file ${state} may not match the app: ${which} changed users and stopped before saving it (${path} says so), and which users it began cannot be told: ${reason}. Resume that run with its checkpoint, run with --refresh (every user read again), or delete ${state} and ${path} to start afresh`,
      { path: state },
    );
  }
  const old = await openStateFile(state, identity);
  const out = await StateFileWriter.create(state, identity);
  let users = 0;
  try {
    for await (const record of old.records()) {
      if (begun === undefined || begun.has(record.user)) {
        users++;
        await out.write({ ...record, digest: UNKNOWN_DIGEST });
      } else await out.write(record);
    }
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
  await clearStateMark(state);
  return marker !== undefined && begun !== undefined
    ? { kind: 'repaired', checkpoint: marker.checkpoint, users }
    : { kind: 'refresh', reason, users };
}

function parseMarker(text: string): Marker | undefined {
  try {
    const value = JSON.parse(text) as Partial<Marker>;
    if (typeof value.checkpoint !== 'string') return undefined;
    return {
      checkpoint: value.checkpoint,
      pid: typeof value.pid === 'number' ? value.pid : 0,
      startedAt: typeof value.startedAt === 'string' ? value.startedAt : '?',
    };
  } catch {
    return undefined;
  }
}
