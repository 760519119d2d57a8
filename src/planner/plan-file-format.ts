import { type Conversation, conversationKey, type Mode } from '../model.js';
import { canonicalJson, type JsonValue, sha256Hex } from './canonical.js';
import { EMPTY_REMOTE_DIGEST } from './remote-digest.js';
import type { PlanSummary } from './summary.js';
import type { Operation, UserPlan, UserPlanStats } from './types.js';

/** The `format` value of every plan file. */
export const PLAN_FORMAT = 'cgsync-plan';
/** How every plan file starts ({@link serializeHeader} writes the format first): what tells it from a CSV. */
export const PLAN_FILE_START = `{"format":${JSON.stringify(PLAN_FORMAT)}`;
/**
 * The plan file version this code writes and reads. See PLAN-FORMAT.md. Version 2 added each user's
 * `remoteDigest` and the digest line at the end; version 1 files are refused (made again, they gain both).
 */
export const PLAN_VERSION = 2;

/** The app and host a plan was made for (never the key). */
export interface PlanTarget {
  readonly sdkAppId: number;
  /** Host (and port) of the main domain or the endpoint, e.g. `adminapisgp.im.qcloud.com`. */
  readonly host: string;
}

/** When, by what and for which app a plan was made. */
export interface PlanMade {
  /** ISO 8601 UTC time the plan was made (`SOURCE_DATE_EPOCH` when set, for byte-identical plans). */
  readonly at: string;
  /** The tool that made it, e.g. `cgsync 0.1.0`. */
  readonly by: string;
  /** The target it was made for; absent when none was configured (`--assume-empty` without one). */
  readonly target?: PlanTarget;
}

/** The first line of a plan file: what the plan was made from. */
export interface PlanHeader {
  readonly format: typeof PLAN_FORMAT;
  readonly version: typeof PLAN_VERSION;
  readonly mode: Mode;
  readonly assumeEmpty: boolean;
  /**
   * Digest of the input's content, independent of the order of its rows: sha256 of the sum
   * (mod 2^256) of every user's `desiredDigest` ({@link ContentDigest}). Filled in by the writer.
   */
  readonly inputDigest: string;
  /** Anything else that shaped the plan (JSON, written with sorted keys). */
  readonly options: { readonly [key: string]: JsonValue };
  /** When, by what and for which target the plan was made; absent in plans made before it was recorded. */
  readonly made?: PlanMade;
}

/** A header before its content digest is known (the writer fills `inputDigest` in). */
export type PlanHeaderDraft = Omit<PlanHeader, 'inputDigest'>;

export function createPlanHeader(
  fields: Omit<PlanHeader, 'format' | 'version' | 'inputDigest'>,
): PlanHeaderDraft {
  return { format: PLAN_FORMAT, version: PLAN_VERSION, ...fields };
}

const MASK = (1n << 256n) - 1n;

/**
 * An order-independent digest of a set of users: the sum (mod 2^256) of their `desiredDigest`s, hashed
 * once more. The same users in any order give the same digest, so a plan's header does not depend on
 * the order of the input's rows (its raw bytes' digest would).
 */
export class ContentDigest {
  #sum = 0n;

  add(desiredDigest: string): void {
    this.#sum = (this.#sum + BigInt(`0x${desiredDigest}`)) & MASK;
  }

  /** The running sum, hex: another digest's part, for {@link ContentDigest.addSum}. */
  sum(): string {
    return this.#sum.toString(16);
  }

  /** Adds the users of another digest (its {@link ContentDigest.sum}). */
  addSum(sum: string): void {
    this.#sum = (this.#sum + BigInt(`0x${sum}`)) & MASK;
  }

  digest(): string {
    return sha256Hex(this.#sum.toString(16).padStart(64, '0'));
  }
}

export function serializeHeader(h: PlanHeader): string {
  const made =
    h.made === undefined
      ? ''
      : `,"made":${canonicalJson({
          at: h.made.at,
          by: h.made.by,
          ...(h.made.target === undefined
            ? {}
            : { target: { host: h.made.target.host, sdkAppId: h.made.target.sdkAppId } }),
        })}`;
  return (
    `{"format":${JSON.stringify(h.format)},"version":${h.version},"mode":${JSON.stringify(h.mode)},` +
    `"assumeEmpty":${h.assumeEmpty},"inputDigest":${JSON.stringify(h.inputDigest)},"options":${canonicalJson(h.options)}${made}}`
  );
}

/**
 * One user's line. Keys in a fixed order; `user` is not repeated inside operations and violations;
 * conversations are written as their keys (`1:alice`, `2:@TGS#…`). Written as text, not built as an
 * object and stringified (a plan of 10M rows writes a line per user on the thread that plans): the
 * same bytes as `JSON.stringify` of the object form, which test/planner/plan-line.test.ts holds it to.
 */
export function serializeUserPlan(plan: UserPlan): string {
  let ops = '';
  for (let i = 0; i < plan.operations.length; i++) {
    if (i > 0) ops += ',';
    ops += operationText(plan.operations[i] as Operation);
  }
  const violations =
    plan.violations.length === 0
      ? '[]'
      : JSON.stringify(
          plan.violations.map((v) => ({ limit: v.limit, count: v.count, max: v.max, message: v.message })),
        );
  let stats = '';
  for (const k of STATS_KEYS) {
    const v = plan.stats[k];
    if (v !== undefined) stats += `${stats === '' ? '' : ','}"${k}":${JSON.stringify(v)}`;
  }
  let tail = `{${stats}}`;
  if (plan.downgradedToMerge === true) tail += ',"downgradedToMerge":true';
  if (plan.duplicateGroups !== undefined && plan.duplicateGroups.length > 0) {
    const groups = plan.duplicateGroups.map((d) => ({ name: d.name, groupIds: [...d.groupIds] }));
    tail += `,"duplicateGroups":${JSON.stringify(groups)}`;
  }
  return `{"user":${JSON.stringify(plan.user)},"desiredDigest":${JSON.stringify(plan.desiredDigest)},"remoteDigest":${JSON.stringify(plan.remoteDigest ?? EMPTY_REMOTE_DIGEST)},"operations":[${ops}],"violations":${violations},"stats":${tail}}`;
}

/** `["1:a","2:@TGS#b"]`: the keys of `cs`, as JSON. */
function keysText(cs: readonly Conversation[]): string {
  if (cs.length === 0) return '[]';
  let out = '[';
  for (let i = 0; i < cs.length; i++) {
    if (i > 0) out += ',';
    out += JSON.stringify(conversationKey(cs[i] as Conversation));
  }
  return `${out}]`;
}

/** One operation as JSON text: what `JSON.stringify(serializeOperation(op))` gives. */
function operationText(op: Operation): string {
  const head = `{"id":${JSON.stringify(op.id)},"kind":"${op.kind}","group":${JSON.stringify(op.group)}`;
  if (op.kind === 'create') return `${head},"add":${keysText(op.add)}}`;
  if (op.kind === 'update') return `${head},"add":${keysText(op.add)},"remove":${keysText(op.remove)}}`;
  return op.held === undefined ? `${head}}` : `${head},"held":${keysText(op.held)}}`;
}

/** The stats keys in the order they are written; the optional ones last. */
export const STATS_KEYS = [
  'groupsCreated',
  'groupsDeleted',
  'membershipsAdded',
  'membershipsRemoved',
  'membershipsUnchanged',
  'membershipsExamined',
  'desiredGroups',
  'desiredConversations',
  'desiredMemberships',
] as const satisfies readonly (keyof UserPlanStats)[];

/** The line before the last. The summary is written as built (its keys come in a fixed order). */
export function serializeSummary(summary: PlanSummary): string {
  return JSON.stringify({ summary });
}

/** The last line: the sha256 (hex) of every byte before it. */
export function serializeDigestLine(digest: string): string {
  return `{"digest":${JSON.stringify(digest)}}`;
}
