import { type Conversation, LIMITS } from '../model.js';

/**
 * Narrowing of the five request bodies (`unknown`) into commands, with the checks that need no state:
 * 50002 malformed fields, 51006 item counts, 51011 name lengths. Anything refused throws a {@link Refusal}.
 */

/** A whole call refused with a Tencent error code. Nothing was applied. */
export class Refusal extends Error {
  readonly errorCode: number;
  constructor(errorCode: number, message: string) {
    super(message);
    this.name = 'Refusal';
    this.errorCode = errorCode;
  }
}

export interface CreateCommand {
  readonly user: string;
  readonly name: string;
  readonly conversations: readonly Conversation[];
}

export interface RenameCommand {
  readonly kind: 'rename';
  readonly user: string;
  readonly oldName: string;
  readonly newName: string;
}

export interface MemberChange {
  readonly op: 'add' | 'remove';
  readonly conversation: Conversation;
}

export interface MembersCommand {
  readonly kind: 'members';
  readonly user: string;
  readonly groupName: string;
  readonly changes: readonly MemberChange[];
}

export interface SearchCommand {
  readonly user: string;
  readonly conversations: readonly Conversation[];
}

export interface DeleteCommand {
  readonly user: string;
  readonly name: string;
}

export interface GetCommand {
  readonly user: string;
  readonly startIndex: number;
}

type Fields = Readonly<Record<string, unknown>>;

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function readBody(body: unknown): Fields {
  if (!isFields(body)) throw new Refusal(50002, 'request body must be a JSON object');
  return body;
}

function readUser(body: Fields): string {
  const user = body.From_Account;
  if (typeof user !== 'string' || user.length === 0) {
    throw new Refusal(50002, `From_Account must be a non-empty string, got ${show(user)}`);
  }
  return user;
}

function readName(value: unknown, field: string, maxBytes: number): string {
  if (typeof value !== 'string') throw new Refusal(50002, `${field} must be a string, got ${show(value)}`);
  if (value.length === 0) throw new Refusal(51011, `${field} must not be empty`);
  const bytes = utf8Length(value);
  if (bytes > maxBytes) throw new Refusal(51011, `${field} is ${bytes} bytes, more than ${maxBytes}`);
  return value;
}

/** Type 1 needs a non-empty To_Account and no ToGroupId; Type 2 the other way round. */
export function readConversation(value: unknown, where: string): Conversation {
  if (!isFields(value)) throw new Refusal(50002, `${where} must be an object, got ${show(value)}`);
  const type = value.Type;
  if (type === 1) {
    const id = value.To_Account;
    if (typeof id !== 'string' || id.length === 0) {
      throw new Refusal(50002, `${where}.To_Account must be a non-empty string for Type 1, got ${show(id)}`);
    }
    if (value.ToGroupId !== undefined) throw new Refusal(50002, `${where}: Type 1 must not carry ToGroupId`);
    return { type: 1, id };
  }
  if (type === 2) {
    const id = value.ToGroupId;
    if (typeof id !== 'string' || id.length === 0) {
      throw new Refusal(50002, `${where}.ToGroupId must be a non-empty string for Type 2, got ${show(id)}`);
    }
    if (value.To_Account !== undefined)
      throw new Refusal(50002, `${where}: Type 2 must not carry To_Account`);
    return { type: 2, id };
  }
  throw new Refusal(50002, `${where}.Type must be 1 or 2, got ${show(type)}`);
}

/** Readings of the pages that change what a request may hold (see `EmulatorOptions`). */
export interface RequestReadings {
  /** A create must carry `ContactItem` (the older page's reading). @default false */
  readonly contactItemRequired?: boolean;
  /** Longest `OldGroupName` of an update in bytes (51011 past it). @default unlimited */
  readonly oldGroupNameMaxBytes?: number | undefined;
}

export function parseCreate(body: unknown, readings: RequestReadings = {}): CreateCommand {
  const b = readBody(body);
  const user = readUser(b);
  const items = b.GroupContactItem;
  if (!Array.isArray(items) || items.length !== 1) {
    throw new Refusal(
      50002,
      `GroupContactItem must be an array of exactly one group, got ${Array.isArray(items) ? `${items.length} groups` : show(items)}`,
    );
  }
  const group: unknown = items[0];
  if (!isFields(group)) throw new Refusal(50002, `GroupContactItem[0] must be an object, got ${show(group)}`);
  const name = readName(group.GroupName, 'GroupName', LIMITS.groupNameBytesCreate);
  const contacts = group.ContactItem;
  if (contacts === undefined) {
    if (readings.contactItemRequired === true) {
      throw new Refusal(50002, 'ContactItem is required (send [] for an empty group)');
    }
    return { user, name, conversations: [] };
  }
  if (!Array.isArray(contacts))
    throw new Refusal(50002, `ContactItem must be an array, got ${show(contacts)}`);
  if (contacts.length > LIMITS.itemsPerCall) {
    throw new Refusal(
      51006,
      `ContactItem holds ${contacts.length} conversations, more than ${LIMITS.itemsPerCall}`,
    );
  }
  const conversations = contacts.map((c: unknown, i) => readConversation(c, `ContactItem[${i}]`));
  return { user, name, conversations };
}

export function parseUpdate(body: unknown, readings: RequestReadings = {}): RenameCommand | MembersCommand {
  const b = readBody(body);
  const user = readUser(b);
  if (b.UpdateType !== 1) throw new Refusal(50002, `UpdateType must be 1, got ${show(b.UpdateType)}`);
  const update = b.UpdateGroup;
  if (!isFields(update)) throw new Refusal(50002, `UpdateGroup must be an object, got ${show(update)}`);
  const oldName = update.OldGroupName;
  if (typeof oldName !== 'string' || oldName.length === 0) {
    throw new Refusal(50002, `OldGroupName must be a non-empty string, got ${show(oldName)}`);
  }
  const oldMax = readings.oldGroupNameMaxBytes;
  if (oldMax !== undefined && utf8Length(oldName) > oldMax) {
    throw new Refusal(51011, `OldGroupName is ${utf8Length(oldName)} bytes, more than ${oldMax}`);
  }
  if (update.UpdateGroupType === 1) {
    const newName = readName(update.NewGroupName, 'NewGroupName', LIMITS.groupNameBytesRename);
    return { kind: 'rename', user, oldName, newName };
  }
  if (update.UpdateGroupType !== 2) {
    throw new Refusal(50002, `UpdateGroupType must be 1 or 2, got ${show(update.UpdateGroupType)}`);
  }
  const items = update.ContactUpdateItem;
  if (items !== undefined && !Array.isArray(items)) {
    throw new Refusal(50002, `ContactUpdateItem must be an array, got ${show(items)}`);
  }
  const count = items?.length ?? 0;
  if (items === undefined || count === 0 || count > LIMITS.itemsPerCall) {
    throw new Refusal(
      51006,
      `ContactUpdateItem must hold 1 to ${LIMITS.itemsPerCall} conversations, got ${count}`,
    );
  }
  const changes = items.map((item: unknown, i): MemberChange => {
    const where = `ContactUpdateItem[${i}]`;
    if (!isFields(item)) throw new Refusal(50002, `${where} must be an object, got ${show(item)}`);
    const opType = item.ContactOptType;
    if (opType !== 1 && opType !== 2) {
      throw new Refusal(50002, `${where}.ContactOptType must be 1 or 2, got ${show(opType)}`);
    }
    return {
      op: opType === 1 ? 'add' : 'remove',
      conversation: readConversation(item.ContactItem, `${where}.ContactItem`),
    };
  });
  return { kind: 'members', user, groupName: oldName, changes };
}

export function parseSearch(body: unknown): SearchCommand {
  const b = readBody(body);
  const user = readUser(b);
  const items = b.ContactItem;
  if (!Array.isArray(items)) throw new Refusal(50002, `ContactItem must be an array, got ${show(items)}`);
  // The search page lists no count-specific code, so more than 300 is an incorrect parameter.
  if (items.length > LIMITS.itemsPerSearch) {
    throw new Refusal(
      50002,
      `ContactItem holds ${items.length} conversations, more than ${LIMITS.itemsPerSearch}`,
    );
  }
  return { user, conversations: items.map((c: unknown, i) => readConversation(c, `ContactItem[${i}]`)) };
}

export function parseDelete(body: unknown): DeleteCommand {
  const b = readBody(body);
  const user = readUser(b);
  const names = b.GroupName;
  if (!Array.isArray(names) || names.length !== 1) {
    throw new Refusal(
      50002,
      `GroupName must be an array of exactly one name, got ${Array.isArray(names) ? `${names.length} names` : show(names)}`,
    );
  }
  return { user, name: readName(names[0], 'GroupName[0]', LIMITS.groupNameBytesCreate) };
}

export function parseGet(body: unknown): GetCommand {
  const b = readBody(body);
  const user = readUser(b);
  const start = b.StartIndex;
  if (typeof start !== 'number' || !Number.isSafeInteger(start) || start < 0) {
    throw new Refusal(50002, `StartIndex must be an integer >= 0, got ${show(start)}`);
  }
  return { user, startIndex: start };
}
