import { type Conversation, conversationKey } from '../model.js';
import { sha256Hex } from './canonical.js';
import type { CountedOperation, Operation } from './types.js';

/** An operation before its id is known. */
export type DraftOperation =
  | {
      readonly kind: 'create';
      readonly user: string;
      readonly group: string;
      readonly add: readonly Conversation[];
      /** The keys of `add`, when the planner has them at hand. */
      readonly addKeys?: readonly string[];
    }
  | {
      readonly kind: 'update';
      readonly user: string;
      readonly group: string;
      readonly add: readonly Conversation[];
      readonly remove: readonly Conversation[];
      /** The keys of `add`, when the planner has them at hand. */
      readonly addKeys?: readonly string[];
    }
  | {
      readonly kind: 'delete';
      readonly user: string;
      readonly group: string;
      /** What the group held (not part of the id). */
      readonly held?: readonly Conversation[];
    };

/** Hex characters kept from the sha256 (64 bits: collisions within one user are not a concern). */
export const OPERATION_ID_LENGTH = 16;

/** The content hash of one operation: sha256 over canonical JSON of user, kind, group and items. */
export function hashOperation(op: DraftOperation, userJson = JSON.stringify(op.user)): string {
  const add =
    op.kind === 'delete'
      ? '[]'
      : op.addKeys !== undefined && op.addKeys.length > 0
        ? JSON.stringify(op.addKeys)
        : keysJson(op.add);
  const remove = op.kind === 'update' ? keysJson(op.remove) : '[]';
  // Canonical JSON (keys in code-unit order, no spaces) written directly: same bytes, much faster.
  return sha256Hex(
    `{"add":${add},"group":${JSON.stringify(op.group)},"kind":"${op.kind}","remove":${remove},"user":${userJson}}`,
  ).slice(0, OPERATION_ID_LENGTH);
}

function keysJson(conversations: readonly Conversation[]): string {
  if (conversations.length === 0) return '[]';
  const keys: string[] = new Array(conversations.length);
  for (let i = 0; i < conversations.length; i++) keys[i] = conversationKey(conversations[i]!);
  return JSON.stringify(keys);
}

/**
 * Gives each operation its id: the content hash, and for the second and later operations of one
 * user with the same content (e.g. two deletes of a name the service holds twice) `-2`, `-3`, ….
 * The same list of operations always gets the same ids.
 */
export function assignOperationIds(drafts: readonly DraftOperation[]): Operation[] {
  const seen = new Map<string, number>();
  const userJson = drafts.length === 0 ? '' : JSON.stringify(drafts[0]!.user);
  return drafts.map((draft) => {
    const hash = hashOperation(draft, draft.user === drafts[0]!.user ? userJson : undefined);
    const n = (seen.get(hash) ?? 0) + 1;
    seen.set(hash, n);
    const id = n === 1 ? hash : `${hash}-${n}`;
    return withId(draft, id);
  });
}

/** The operation of a draft, without an id (a plan that is only counted). */
export function countedOperation(draft: DraftOperation): CountedOperation {
  if (draft.kind === 'create')
    return { kind: 'create', user: draft.user, group: draft.group, add: draft.add };
  if (draft.kind === 'delete') return deleteOf(draft);
  return { kind: 'update', user: draft.user, group: draft.group, add: draft.add, remove: draft.remove };
}

/** The operation of a draft, with `id`. */
export function withId(draft: DraftOperation, id: string): Operation {
  if (draft.kind === 'create')
    return { id, kind: 'create', user: draft.user, group: draft.group, add: draft.add };
  if (draft.kind === 'delete') return { id, ...deleteOf(draft) };
  return { id, kind: 'update', user: draft.user, group: draft.group, add: draft.add, remove: draft.remove };
}

function deleteOf(
  draft: Extract<DraftOperation, { kind: 'delete' }>,
): Omit<Extract<Operation, { kind: 'delete' }>, 'id'> {
  return draft.held === undefined
    ? { kind: 'delete', user: draft.user, group: draft.group }
    : { kind: 'delete', user: draft.user, group: draft.group, held: draft.held };
}
