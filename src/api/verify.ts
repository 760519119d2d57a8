import { resolve } from 'node:path';
import { countingApart } from '../executor/index.js';
import type { Mode } from '../model.js';
import type { Shard } from '../planner/shard.js';
import { runVerifyJob, type VerifyResult } from '../sync/verify-job.js';
import { CSV_JOB_RULES, checkOptions, is, toShard } from './check-options.js';
import { type Client, clientRule, connectionOf } from './client.js';
import { linkSignal, type OnProgress, ProgressEvents } from './progress.js';

export type { UnreadableUser, UserDrift, VerifyResult } from '../sync/verify-job.js';

/** Options of {@link verify}. */
export interface VerifyRunOptions {
  /** The CSV to compare the app with. */
  readonly input: string;
  /** The app to read. */
  readonly client: Client;
  /** `merge`: the CSV's memberships all exist; `mirror`: the app holds exactly the CSV. @default 'merge' */
  readonly mode?: Mode | undefined;
  /** Only the users of one shard: `{ index, count }` or `'i/n'`. @default every user */
  readonly shard?: Shard | string | undefined;
  /** Reject rows whose GroupName is longer than this many UTF-8 bytes (as apply did). @default 64 */
  readonly groupNameLimit?: number | undefined;
  /** How many drifted (and unreadable) users are listed; the counts are complete. @default 100 */
  readonly listLimit?: number | undefined;
  /** Stops the comparison: it rejects with `SyncError('INTERRUPTED')` (verify writes nothing). @default none */
  readonly signal?: AbortSignal | undefined;
  /** Told each phase (`scan`, `read`) and each warning. @default none */
  readonly onProgress?: OnProgress | undefined;
}

/** What {@link verify} returns: the CLI's `verify --json` line. */
export type VerifyRunResult = VerifyResult;

const RULES = {
  ...CSV_JOB_RULES,
  client: { ...clientRule, required: true },
  listLimit: is.integer(0, 1_000_000),
} as const;

/**
 * Reads the app back and compares it with the CSV: `cgsync verify`. The app matches when
 * `usersWithDrift` is 0; users that could not be read are counted apart (`usersUnreadable`).
 * @throws SyncError `USAGE` for a bad option, before any work; `INTERRUPTED` when `signal` stops it.
 */
export async function verify(options: VerifyRunOptions): Promise<VerifyRunResult> {
  checkOptions<VerifyRunOptions>('verify', options, RULES);
  const connection = connectionOf('verify', options.client);
  const events = new ProgressEvents(options.onProgress, 1000);
  const linked = linkSignal(options.signal);
  const shard = options.shard === undefined ? undefined : toShard(options.shard);
  try {
    return await runVerifyJob({
      input: resolve(options.input),
      mode: options.mode ?? 'merge',
      api: connection.api,
      scheduler: countingApart(connection.scheduler),
      ...(shard === undefined ? {} : { shard }),
      ...(options.groupNameLimit === undefined ? {} : { groupNameLimit: options.groupNameLimit }),
      ...(options.listLimit === undefined ? {} : { listLimit: options.listLimit }),
      ...(linked.signal === undefined ? {} : { signal: linked.signal }),
      onPhase: events.onPhase,
      onWarning: events.onWarning,
    });
  } finally {
    linked.dispose();
  }
}
