import type { EndpointScheduler } from '../executor/rate/limiters.js';
import { conversationKey, type Mode } from '../model.js';
import type { Shard } from '../planner/shard.js';
import type { Operation } from '../planner/types.js';
import { type Rejection, scanInput } from '../reader/index.js';
import type { ChatApi } from '../tencent/api.js';
import { countInputUsers } from './input-totals.js';
import type { OnPhase } from './phase.js';
import { planUsers, type ReadFailure } from './plan-users.js';
import { countReads, type OnReadProgress } from './read-progress.js';

/** How one user's groups differ from the CSV. */
export interface UserDrift {
  readonly user: string;
  /** Groups the CSV has and the app lacks. */
  readonly missingGroups: readonly string[];
  /** `group: conversation` pairs the CSV has and the app lacks. */
  readonly missingMemberships: readonly string[];
  /** Mirror only: memberships the app has beyond the CSV. */
  readonly extraMemberships: readonly string[];
  /** Mirror only: groups the app has that the CSV does not. */
  readonly extraGroups: readonly string[];
  /** Set when the user breaks a per-user limit: the CSV cannot be applied as it is. */
  readonly overLimit?: string;
}

/** A user whose state the service refused to give (50001: not imported, …): not compared. */
export interface UnreadableUser extends ReadFailure {
  readonly user: string;
}

export interface VerifyResult {
  /** Users compared (the unreadable ones are not among them). */
  readonly users: number;
  readonly usersWithDrift: number;
  /** The first `listLimit` drifted users, in input order. */
  readonly drift: readonly UserDrift[];
  /** Users whose state could not be read: neither matching nor drifting. */
  readonly usersUnreadable: number;
  /** The first `listLimit` of them, in the order they were met. */
  readonly unreadable: readonly UnreadableUser[];
  readonly rejectedRows: number;
}

export interface VerifyJobOptions {
  readonly input: string;
  readonly mode: Mode;
  readonly api: ChatApi;
  readonly scheduler: EndpointScheduler;
  readonly shard?: Shard;
  /** @default 100 */
  readonly listLimit?: number;
  readonly onRejected?: (rejection: Rejection) => void;
  /** Reject rows whose GroupName is longer than this many UTF-8 bytes (as apply did). @default 64 */
  readonly groupNameLimit?: number;
  /** Told when a listing looks odd (CompleteFlag and NextStartIndex disagree). */
  readonly onWarning?: (message: string) => void;
  readonly signal?: AbortSignal;
  /** Told as each phase begins (`scan`, `read`). */
  readonly onPhase?: OnPhase;
  /** Told after each user's state is read. */
  readonly onReadProgress?: OnReadProgress;
}

function driftOf(user: string, operations: readonly Operation[]): UserDrift {
  const missingGroups: string[] = [];
  const missingMemberships: string[] = [];
  const extraMemberships: string[] = [];
  const extraGroups: string[] = [];
  for (const op of operations) {
    if (op.kind === 'create') missingGroups.push(op.group);
    if (op.kind === 'delete') extraGroups.push(op.group);
    if (op.kind === 'create' || op.kind === 'update') {
      for (const c of op.add) missingMemberships.push(`${op.group}: ${conversationKey(c)}`);
    }
    if (op.kind === 'update')
      for (const c of op.remove) extraMemberships.push(`${op.group}: ${conversationKey(c)}`);
  }
  return { user, missingGroups, missingMemberships, extraMemberships, extraGroups };
}

/**
 * `cgsync verify`: reads the app back and compares it with the CSV. A user matches when planning it
 * against what the app holds gives no operation (merge: the CSV's memberships all exist; mirror: the
 * groups and memberships are exactly the CSV's). Writes nothing.
 */
export async function runVerifyJob(options: VerifyJobOptions): Promise<VerifyResult> {
  let rejectedRows = 0;
  await options.onPhase?.('scan');
  const scan = await scanInput(options.input, {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.groupNameLimit === undefined ? {} : { groupNameMaxBytes: options.groupNameLimit }),
    onRejected: (r) => {
      rejectedRows++;
      options.onRejected?.(r);
    },
  });
  const listLimit = options.listLimit ?? 100;
  const drift: UserDrift[] = [];
  const unreadable: UnreadableUser[] = [];
  let usersUnreadable = 0;
  let users = 0;
  let usersWithDrift = 0;
  // The users to read, for the read progress (of the shard; one pass over the staged rows if needed).
  const total =
    options.onReadProgress === undefined
      ? undefined
      : (
          await countInputUsers(scan, {
            ...(options.shard === undefined ? {} : { shard: options.shard }),
            ...(options.signal === undefined ? {} : { signal: options.signal }),
          }).catch(async (err: unknown) => {
            await scan.dispose();
            throw err;
          })
        ).users;
  await options.onPhase?.('read');
  const planned = planUsers(scan.users(), {
    mode: options.mode,
    assumeEmpty: false,
    api: options.api,
    scheduler: options.scheduler,
    ...(options.shard === undefined ? {} : { shard: options.shard }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
  });
  for await (const { plan, readFailure } of countReads(planned, total, options.onReadProgress)) {
    if (readFailure !== undefined) {
      usersUnreadable++;
      if (unreadable.length < listLimit) unreadable.push({ user: plan.user, ...readFailure });
      continue;
    }
    users++;
    const violation = plan.violations[0];
    if (plan.operations.length === 0 && violation === undefined) continue;
    usersWithDrift++;
    if (drift.length < listLimit) {
      const d = driftOf(plan.user, plan.operations);
      drift.push(violation === undefined ? d : { ...d, overLimit: violation.message });
    }
  }
  return { users, usersWithDrift, drift, usersUnreadable, unreadable, rejectedRows };
}

/** Human lines for a drift report. */
export function formatDrift(result: VerifyResult): string {
  const lines: string[] = [];
  for (const d of result.drift) {
    lines.push(`${JSON.stringify(d.user)}:`);
    if (d.overLimit !== undefined) lines.push(`  over a limit: ${d.overLimit}`);
    for (const g of d.missingGroups) lines.push(`  missing group ${JSON.stringify(g)}`);
    for (const m of d.missingMemberships) lines.push(`  missing ${m}`);
    for (const m of d.extraMemberships) lines.push(`  extra ${m}`);
    for (const g of d.extraGroups) lines.push(`  extra group ${JSON.stringify(g)}`);
  }
  if (result.usersWithDrift > result.drift.length) {
    lines.push(`… and ${result.usersWithDrift - result.drift.length} more users with differences`);
  }
  if (result.usersUnreadable > 0) {
    lines.push(`could not be read (not compared): ${result.usersUnreadable} users`);
    for (const u of result.unreadable) {
      lines.push(`  ${JSON.stringify(u.user)}: ${String(u.errorCode)} ${u.message}`);
    }
    if (result.usersUnreadable > result.unreadable.length) {
      lines.push(`  … and ${result.usersUnreadable - result.unreadable.length} more`);
    }
  }
  lines.push(
    result.usersWithDrift === 0
      ? `verify: all ${result.users} users ${result.usersUnreadable > 0 ? 'read ' : ''}match`
      : `verify: ${result.usersWithDrift} of ${result.users} users differ`,
  );
  return `${lines.join('\n')}\n`;
}
