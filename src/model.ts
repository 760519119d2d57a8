/**
 * The domain model shared by reader, planner, executor and emulator.
 * Plain, JSON-serialisable data only.
 */

/** 1 = one-to-one (C2C) conversation, 2 = group conversation. */
export type ConversationType = 1 | 2;

/** One conversation: `id` is the peer's UserID (type 1) or the group's ID (type 2). */
export interface Conversation {
  readonly type: ConversationType;
  readonly id: string;
}

/** A stable string key for a conversation, e.g. `1:alice` or `2:@TGS#1B2AUI7RZ`. */
export function conversationKey(c: Conversation): string {
  return `${c.type}:${c.id}`;
}

export function parseConversationKey(key: string): Conversation {
  const type = key.charCodeAt(0) === 50 ? 2 : 1; // '2' or '1'
  return { type, id: key.slice(2) };
}

/** Code-unit order, the order of `<` on strings: the same on every machine and locale. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders conversations by key (code-unit order), so plans are deterministic. */
export function compareConversations(a: Conversation, b: Conversation): number {
  return compareCodeUnits(conversationKey(a), conversationKey(b));
}

/** One validated CSV row: a conversation in a group of a user, or an empty group (`conversation` absent). */
export interface Membership {
  readonly user: string;
  readonly group: string;
  readonly conversation?: Conversation;
  /** 1-based physical line number of the row in the input file. */
  readonly line: number;
}

/** A named group and its conversations, sorted by {@link compareConversations}, without duplicates. */
export interface GroupState {
  readonly name: string;
  readonly conversations: readonly Conversation[];
}

/** What the CSV says one user should have. Groups sorted by name. */
export interface DesiredUser {
  readonly user: string;
  readonly groups: readonly GroupState[];
  /** Lines of the rows this user came from (for reports and the failures file). */
  readonly lines: readonly number[];
  /** True when at least one of this user's rows was rejected: never mirrored destructively. */
  readonly hasRejectedRows: boolean;
  /**
   * First input line of each membership, keyed by {@link membershipKey}, for the failures file.
   * Absent when the user comes from a plan file.
   */
  readonly lineOf?: ReadonlyMap<string, number>;
}

/** Key of one membership (or of an empty-group declaration when `conversation` is absent). */
export function membershipKey(group: string, conversation?: Conversation): string {
  return conversation === undefined ? `${group}\u0000` : `${group}\u0000${conversationKey(conversation)}`;
}

/** A group as the service holds it. Several groups may share a name if the service allows duplicates. */
export interface RemoteGroup extends GroupState {
  readonly groupId: number;
}

/** What the service holds for one user. */
export interface RemoteUser {
  readonly user: string;
  readonly groups: readonly RemoteGroup[];
  /**
   * Conversations that carry a mark (listed in no group, or with a StandardMark/CustomMark): marks
   * and groups share the 1000-conversation limit, so they count whatever the groups become.
   * cgsync never adds, removes or changes them. Absent when there are none.
   */
  readonly marked?: readonly Conversation[];
}

/** The documented per-user and per-call limits. */
export const LIMITS = {
  /** Conversation groups per user (51010). */
  groupsPerUser: 20,
  /** Distinct grouped conversations per user (51008). */
  conversationsPerUser: 1000,
  /** ContactItem entries per create call, ContactUpdateItem entries per update call (51006). */
  itemsPerCall: 100,
  /** ContactItem entries per search call. */
  itemsPerSearch: 300,
  /** GroupName bytes on create (51011). */
  groupNameBytesCreate: 64,
  /**
   * NewGroupName bytes on rename, as the official update page reads (51011); also the strict reading
   * of OldGroupName (every update names its group there), which the planner reports as a risk.
   */
  groupNameBytesRename: 32,
  /** Documented calls per second per endpoint. */
  callsPerSecond: 200,
} as const;

/**
 * The highest rate (calls per second per endpoint) cgsync accepts, 50 times the documented 200: a
 * bigger `--rate` is a typo, and the limiters' memory must not follow whatever number is given.
 */
export const MAX_RATE = 10_000;

export type Mode = 'merge' | 'mirror';
