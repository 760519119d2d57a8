import { commitTemp, createTemp, discardTemp } from '../atomic-file.js';
import { SyncError } from '../errors.js';
import type { EndpointScheduler } from '../executor/rate/limiters.js';
import { type Conversation, type DesiredUser, LIMITS, type RemoteUser } from '../model.js';
import { BoundedSortedList } from '../planner/bounded-list.js';
import { compareCodeUnits } from '../planner/canonical.js';
import { ExternalSorter } from '../planner/external-sort.js';
import { LineFileWriter } from '../planner/line-file.js';
import { CANONICAL_HEADER } from '../reader/index.js';
import type { ChatApi } from '../tencent/api.js';
import { canonicalRow as row } from './failures-file.js';
import type { OnPhase } from './phase.js';
import { planUsers } from './plan-users.js';

/** A user the service refused to give the groups of (50001: not imported, …): not exported. */
export interface UnexportedUser {
  readonly user: string;
  readonly errorCode: number | string;
  readonly message: string;
}

export interface ExportJobOptions {
  /** The users to export (a repeat is read once, unless `unique` says there is none). */
  readonly users: AsyncIterable<string>;
  /**
   * The users come each once (a CSV's users): no set of the IDs seen is kept, so memory stays bounded.
   * @default false
   */
  readonly unique?: boolean;
  /** The CSV to write; it appears only when complete (written beside it under a temporary name). */
  readonly out: string;
  readonly api: ChatApi;
  readonly scheduler: EndpointScheduler;
  /** Users read at once, as for planning reads. @default 40 */
  readonly readConcurrency?: number;
  /** How many unreadable users are listed (the count is complete). @default 20 */
  readonly listLimit?: number;
  readonly signal?: AbortSignal;
  /** Told when a listing looks odd, and when a name would not come back the same from the CSV. */
  readonly onWarning?: (message: string) => void;
  /** Told as each phase begins: `read` (the app), then `flush` (the file). */
  readonly onPhase?: OnPhase;
  /** @internal Records the sorter keeps in memory before spilling. @default 10000 */
  readonly maxBufferedRecords?: number;
}

export interface ExportJobResult {
  /** Users asked for (repeats counted once). */
  readonly users: number;
  /** Users whose groups were read and written (a user without groups writes no row). */
  readonly exported: number;
  /** Data rows written (the header not counted). */
  readonly rows: number;
  readonly groups: number;
  readonly memberships: number;
  /** Users whose state could not be read: not in the file. */
  readonly unreadable: { readonly count: number; readonly first: readonly UnexportedUser[] };
}

/** A group as kept between reading and writing: its name and its conversations' keys. */
type Kept = readonly [name: string, keys: readonly string[]];

/**
 * `cgsync export`: the app's current groups of `users`, as a CSV in the input format (canonical header,
 * one row per membership, an empty group as the empty-group row), sorted by user, so that applying it
 * restores them (merge) and mirroring it changes nothing. Conversations listed only for their mark are
 * left out (cgsync never touches marks). Reads go through `scheduler` with the retries of every read
 * (planUsers, as `plan` reads); a user the service refuses for good is reported and left out, the rest
 * exported; anything systemic, or the signal, stops the job and no file is written. Memory stays
 * bounded: users are sorted through temporary files.
 */
export async function runExportJob(options: ExportJobOptions): Promise<ExportJobResult> {
  const listLimit = options.listLimit ?? 20;
  const unreadable = new BoundedSortedList<UnexportedUser>(listLimit, (a, b) =>
    compareCodeUnits(a.user, b.user),
  );
  let unreadableCount = 0;
  let users = 0;
  let exported = 0;
  const warn = options.onWarning ?? (() => undefined);
  const sorter = new ExternalSorter(
    options.maxBufferedRecords === undefined ? {} : { maxBufferedRecords: options.maxBufferedRecords },
  );
  let tmp: string | undefined;
  let file: LineFileWriter | undefined;
  try {
    await options.onPhase?.('read');
    const seen = new Set<string>();
    async function* desired(): AsyncGenerator<DesiredUser> {
      for await (const user of options.users) {
        if (options.unique !== true) {
          if (seen.has(user)) continue;
          seen.add(user);
        }
        users++;
        yield { user, groups: [], lines: [], hasRejectedRows: false };
      }
    }
    const planned = planUsers(desired(), {
      mode: 'merge',
      assumeEmpty: false,
      api: options.api,
      scheduler: options.scheduler,
      ...(options.readConcurrency === undefined ? {} : { readConcurrency: options.readConcurrency }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onWarning: warn,
    });
    for await (const { desired: d, remote, readFailure } of planned) {
      if (readFailure !== undefined || remote === undefined) {
        unreadableCount++;
        unreadable.add({
          user: d.user,
          errorCode: readFailure?.errorCode ?? '',
          message: readFailure?.message ?? '',
        });
        continue;
      }
      exported++;
      checkRoundTrip(remote, warn);
      const kept: Kept[] = remote.groups.map((g) => [g.name, g.conversations.map(keyOf)]);
      await sorter.add(remote.user, JSON.stringify(kept));
    }
    await options.onPhase?.('flush');
    tmp = createTemp(options.out);
    file = await LineFileWriter.create(tmp, 0o600, { existing: true });
    await file.write(CANONICAL_HEADER.join(','));
    let rows = 0;
    let groups = 0;
    let memberships = 0;
    for await (const [user, line] of sorter.sorted()) {
      options.signal?.throwIfAborted();
      for (const [name, keys] of JSON.parse(line) as Kept[]) {
        groups++;
        if (keys.length === 0) {
          await file.write(row(user, name, undefined));
          rows++;
        }
        for (const key of keys) {
          await file.write(row(user, name, key));
          rows++;
          memberships++;
        }
      }
    }
    const closing = file;
    file = undefined;
    await closing.close({ sync: true });
    await commitTemp(tmp, options.out);
    return {
      users,
      exported,
      rows,
      groups,
      memberships,
      unreadable: { count: unreadableCount, first: unreadable.toArray() },
    };
  } catch (err) {
    await file?.discard();
    if (tmp !== undefined) await discardTemp(tmp);
    if (options.signal?.aborted === true) {
      const reason: unknown = options.signal.reason;
      throw reason instanceof SyncError ? reason : new SyncError('INTERRUPTED', 'the export was stopped');
    }
    if (err instanceof SyncError || !(err instanceof Error) || !('code' in err)) throw err;
    throw new SyncError(
      'IO',
      `cannot write ${options.out}: ${err.message}`,
      { path: options.out },
      { cause: err },
    );
  } finally {
    await sorter.dispose();
  }
}

function keyOf(c: Conversation): string {
  return `${c.type}:${c.id}`;
}

/**
 * Warns about what would not come back the same when the file is read (the reader trims cells, refuses
 * names over 64 bytes), and about names the app holds twice (the file holds them as one group).
 */
function checkRoundTrip(remote: RemoteUser, warn: (message: string) => void): void {
  const trims = (v: string): boolean => v.trim() !== v;
  if (trims(remote.user)) {
    warn(`user ${JSON.stringify(remote.user)}: its ID starts or ends with blanks, which a CSV reader trims`);
  }
  const names = new Set<string>();
  for (const g of remote.groups) {
    const label = `user ${JSON.stringify(remote.user)}, group ${JSON.stringify(g.name)}`;
    if (names.has(g.name)) warn(`${label}: the app holds this name twice; the export holds it as one group`);
    names.add(g.name);
    if (trims(g.name)) warn(`${label}: the name starts or ends with blanks, which a CSV reader trims`);
    if (Buffer.byteLength(g.name, 'utf8') > LIMITS.groupNameBytesCreate) {
      warn(`${label}: the name is over ${LIMITS.groupNameBytesCreate} bytes, which a CSV reader rejects`);
    }
    for (const c of g.conversations) {
      if (trims(c.id)) warn(`${label}: conversation ${JSON.stringify(c.id)} starts or ends with blanks`);
    }
  }
}
