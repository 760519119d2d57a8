import { createHash } from 'node:crypto';
import type { Mode } from '../../model.js';
import type { OperationKind } from '../../planner/types.js';

/** What defines a run: the same parts give the same `runKey`, so the checkpoint can be resumed. */
export interface RunIdentity {
  /** sha256 of the input (CSV or plan file). */
  readonly inputDigest: string;
  readonly mode: Mode;
  readonly assumeEmpty: boolean;
  /** Every other option that changes the plan (e.g. max-delete, shard). JSON values only. */
  readonly options: Readonly<Record<string, string | number | boolean | null>>;
}

/** The app and host a run writes to (never the key). */
export interface CheckpointTarget {
  readonly sdkAppId: number;
  readonly host: string;
}

/** The first line of a checkpoint file. */
export interface CheckpointHeader extends RunIdentity {
  readonly type: 'header';
  readonly format: 'cgsync-checkpoint';
  readonly version: 1;
  readonly runKey: string;
  /** The cgsync version that wrote the file (informational; not part of the run key). */
  readonly toolVersion: string;
  /**
   * The target of the run that wrote it (not part of the run key, so that checkpoints written before it
   * was recorded still resume): another target is refused.
   */
  readonly target?: CheckpointTarget;
}

/** Written (and fsync'd) before a user's first call. */
export interface BeginRecord {
  readonly type: 'begin';
  readonly user: string;
}

/** One failed item of an operation, compactly: conversation key (`1:alice`), action and code. */
export interface FailedItemRecord {
  readonly conversation?: string;
  readonly action: 'create' | 'add' | 'remove' | 'delete';
  readonly code: number | string;
}

/** The outcome of one planned operation (by its id). */
export interface OpRecord {
  readonly type: 'op';
  readonly id: string;
  readonly user: string;
  readonly kind: OperationKind;
  readonly group: string;
  /** `failed` when the call failed or any of its items did. */
  readonly outcome: 'ok' | 'failed';
  /** Set when the whole call failed. */
  readonly errorCode?: number | string;
  /** Items that failed, when some did. */
  readonly items?: readonly FailedItemRecord[];
  /** True when the operation was found done, or partly done, by reading the state. */
  readonly reconciled?: boolean;
  /**
   * A delete done (`ok`): the conversations the group held (keys, `1:bob`), when they were known (a
   * mirror run read them; absent in checkpoints written before this field, and for a plan that did
   * not record them).
   */
  readonly removed?: readonly string[];
}

/** The outcome of one user. */
export interface UserRecord {
  readonly type: 'user';
  readonly user: string;
  readonly outcome: 'done' | 'failed' | 'skipped';
  /** Why the user failed or was skipped. */
  readonly reason?: string;
}

export type CheckpointRecord = BeginRecord | OpRecord | UserRecord;

/** sha256 (hex) of the canonical JSON of a run's identity. */
export function computeRunKey(identity: RunIdentity): string {
  const options = Object.keys(identity.options)
    .sort()
    .map((k) => [k, identity.options[k]]);
  const canonical = JSON.stringify([
    'cgsync-run',
    1,
    identity.inputDigest,
    identity.mode,
    identity.assumeEmpty,
    options,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCode(value: unknown): value is number | string {
  return typeof value === 'number' || typeof value === 'string';
}

function isOptionValue(value: unknown): value is string | number | boolean | null {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

/** Narrows a parsed header line; `undefined` when it is not a cgsync checkpoint header. */
export function parseHeader(value: unknown): CheckpointHeader | undefined {
  if (!isObject(value) || value.type !== 'header' || value.format !== 'cgsync-checkpoint') return undefined;
  const { version, runKey, inputDigest, mode, assumeEmpty, options, toolVersion, target } = value;
  if (version !== 1 || typeof runKey !== 'string' || typeof inputDigest !== 'string') return undefined;
  if ((mode !== 'merge' && mode !== 'mirror') || typeof assumeEmpty !== 'boolean') return undefined;
  if (!isObject(options) || !Object.values(options).every(isOptionValue)) return undefined;
  return {
    type: 'header',
    format: 'cgsync-checkpoint',
    version: 1,
    runKey,
    inputDigest,
    mode,
    assumeEmpty,
    options: options as Record<string, string | number | boolean | null>,
    toolVersion: typeof toolVersion === 'string' ? toolVersion : 'unknown',
    ...(isObject(target) && typeof target.sdkAppId === 'number' && typeof target.host === 'string'
      ? { target: { sdkAppId: target.sdkAppId, host: target.host } }
      : {}),
  };
}

/** Whether a parsed value looks like a checkpoint file's version field other than ours. */
export function headerVersion(value: unknown): unknown {
  return isObject(value) && value.format === 'cgsync-checkpoint' ? value.version : undefined;
}

function parseItems(value: unknown): FailedItemRecord[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const items: FailedItemRecord[] = [];
  for (const item of value) {
    if (!isObject(item) || !isCode(item.code)) return undefined;
    if (!['create', 'add', 'remove', 'delete'].includes(item.action as string)) return undefined;
    if (item.conversation !== undefined && typeof item.conversation !== 'string') return undefined;
    items.push(item as unknown as FailedItemRecord);
  }
  return items;
}

/** Narrows a parsed record line; `undefined` when it is not a valid record. */
export function parseRecord(value: unknown): CheckpointRecord | undefined {
  if (!isObject(value) || typeof value.user !== 'string') return undefined;
  const user = value.user;
  switch (value.type) {
    case 'begin':
      return { type: 'begin', user };
    case 'user': {
      const { outcome, reason } = value;
      if (outcome !== 'done' && outcome !== 'failed' && outcome !== 'skipped') return undefined;
      if (reason !== undefined && typeof reason !== 'string') return undefined;
      return reason === undefined ? { type: 'user', user, outcome } : { type: 'user', user, outcome, reason };
    }
    case 'op': {
      const { id, kind, group, outcome, errorCode, items, reconciled, removed } = value;
      if (typeof id !== 'string' || typeof group !== 'string') return undefined;
      if (kind !== 'create' && kind !== 'update' && kind !== 'delete') return undefined;
      if (outcome !== 'ok' && outcome !== 'failed') return undefined;
      if (errorCode !== undefined && !isCode(errorCode)) return undefined;
      if (reconciled !== undefined && typeof reconciled !== 'boolean') return undefined;
      if (removed !== undefined && !(Array.isArray(removed) && removed.every((k) => typeof k === 'string')))
        return undefined;
      const parsedItems = items === undefined ? undefined : parseItems(items);
      if (items !== undefined && parsedItems === undefined) return undefined;
      return {
        type: 'op',
        id,
        user,
        kind,
        group,
        outcome,
        ...(errorCode === undefined ? {} : { errorCode }),
        ...(parsedItems === undefined ? {} : { items: parsedItems }),
        ...(reconciled === undefined ? {} : { reconciled }),
        ...(removed === undefined ? {} : { removed: removed as string[] }),
      };
    }
    default:
      return undefined;
  }
}
