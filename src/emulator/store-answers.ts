import { type Conversation, LIMITS } from '../model.js';
import type {
  WireContactItem,
  WireContactResult,
  WireEnvelope,
  WireGroupItem,
  WireItemResult,
} from '../tencent/wire.js';
import { Refusal } from './requests.js';
import type { Grouped, GroupRecord, UserGroups } from './user-groups.js';

/** The store's answers in the wire shape, and the counts its limits are checked on. */

export const OK = { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' } as const;

export function fail(errorCode: number, info: string): WireEnvelope {
  return { ActionStatus: 'FAIL', ErrorCode: errorCode, ErrorInfo: info };
}

export function toWire(c: Conversation): WireContactItem {
  return c.type === 1 ? { Type: 1, To_Account: c.id } : { Type: 2, ToGroupId: c.id };
}

export function itemResult(c: Conversation, code: number, info: string): WireItemResult {
  return { ContactItem: toWire(c), ResultCode: code, ResultInfo: info };
}

export function refusable<T>(run: () => T): T | WireEnvelope {
  try {
    return run();
  } catch (error) {
    if (error instanceof Refusal) return fail(error.errorCode, error.message);
    throw error;
  }
}

export function checkConversationLimit(total: number): void {
  if (total > LIMITS.conversationsPerUser) {
    throw new Refusal(
      51008,
      `the call would group ${total} conversations, more than ${LIMITS.conversationsPerUser}`,
    );
  }
}

/**
 * Distinct conversations the user would have (grouped or marked) if `group`'s members became
 * `after` (`group` undefined: a new group).
 */
export function countWithMarks(
  user: UserGroups | undefined,
  group: GroupRecord | undefined,
  after: ReadonlyMap<string, Conversation>,
  marked: ReadonlyMap<string, Conversation>,
): number {
  let total = user?.countAfter(group, after) ?? after.size;
  for (const key of marked.keys()) {
    if (after.has(key)) continue;
    const held = user?.groupedOf(key)?.count ?? 0;
    const inGroup = group?.members.has(key) === true ? 1 : 0;
    if (held - inGroup <= 0) total++;
  }
  return total;
}

export function markedOnlyResult(c: Conversation): WireContactResult {
  return { ...toWire(c), StandardMark: '1', Timestamp: 0 };
}

export function contactResult(user: UserGroups, key: string, g: Grouped, marked = false): WireContactResult {
  return {
    ...toWire(g.conversation),
    StandardMark: marked ? '1' : '',
    ContactGroupId: user.groupIdsOf(key),
    Timestamp: g.timestamp,
  };
}

export function groupItems(user: UserGroups | undefined): WireGroupItem[] {
  return (user?.groups ?? []).map((g) => ({ GroupName: g.name, GroupId: g.groupId }));
}
