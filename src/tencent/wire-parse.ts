import type { Conversation } from '../model.js';
import type { GroupsPage, GroupWriteResult, ItemResult, SearchResult } from './api.js';
import { isRecord, MalformedResponse } from './http.js';
import type { WireContactItem } from './wire.js';

// Wire ↔ domain. Bodies arrive as `unknown`; each parser narrows what it needs or throws
// MalformedResponse, which the transport turns into an `UNEXPECTED_RESPONSE` failure.

type Body = Readonly<Record<string, unknown>>;
type GroupRef = { name: string; groupId: number };
type ContactGroups = { conversation: Conversation; groupIds: readonly number[]; marked: boolean };

export function toWireItem(c: Conversation): WireContactItem {
  return c.type === 1 ? { Type: 1, To_Account: c.id } : { Type: 2, ToGroupId: c.id };
}

function fromWireItem(v: unknown, where: string): Conversation {
  if (isRecord(v)) {
    if (v.Type === 1 && typeof v.To_Account === 'string') return { type: 1, id: v.To_Account };
    if (v.Type === 2 && typeof v.ToGroupId === 'string') return { type: 2, id: v.ToGroupId };
  }
  throw new MalformedResponse(`${where} is not a conversation`);
}

/** An optional array field: absent → []. */
function arrayOf(v: unknown, where: string): readonly unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new MalformedResponse(`${where} is not an array`);
  return v;
}

function recordOf(v: unknown, where: string): Body {
  if (!isRecord(v)) throw new MalformedResponse(`${where} is missing or not an object`);
  return v;
}

function intOf(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new MalformedResponse(`${where} is not an integer`);
  return v;
}

function stringOf(v: unknown, where: string): string {
  if (typeof v !== 'string') throw new MalformedResponse(`${where} is not a string`);
  return v;
}

function parseGroupItem(v: unknown, where: string): GroupRef {
  const r = recordOf(v, where);
  return { name: stringOf(r.GroupName, `${where}.GroupName`), groupId: intOf(r.GroupId, `${where}.GroupId`) };
}

export function parseGroupItems(v: unknown): GroupRef[] {
  return arrayOf(v, 'GroupItem').map((g, i) => parseGroupItem(g, `GroupItem[${i}]`));
}

export function parseContactResults(v: unknown, field: string): ContactGroups[] {
  return arrayOf(v, field).map((item, i) => {
    const where = `${field}[${i}]`;
    const r = recordOf(item, where);
    const ids = arrayOf(r.ContactGroupId, `${where}.ContactGroupId`);
    return {
      conversation: fromWireItem(item, where),
      groupIds: ids.map((id, j) => intOf(id, `${where}.ContactGroupId[${j}]`)),
      marked: hasMark(r),
    };
  });
}

/**
 * Whether a listed conversation carries a mark: a StandardMark with a bit set, or a CustomMark.
 * Marks and groups share the 1000-conversation limit, so such a conversation counts even in no group.
 */
function hasMark(r: Body): boolean {
  const standard = r.StandardMark;
  const custom = r.CustomMark;
  return (
    (typeof standard === 'string' && /[^0]/.test(standard)) || (typeof custom === 'string' && custom !== '')
  );
}

function parseItemResult(v: unknown, op: 'add' | 'remove', where: string): ItemResult {
  const r = recordOf(v, where);
  const info = r.ResultInfo;
  return {
    conversation: fromWireItem(r.ContactItem, `${where}.ContactItem`),
    op,
    resultCode: intOf(r.ResultCode, `${where}.ResultCode`),
    resultInfo: typeof info === 'string' ? info : '',
  };
}

function writeResult(group: GroupRef, items: ItemResult[]): GroupWriteResult {
  return {
    groupId: group.groupId,
    groupName: group.name,
    items,
    failed: items.filter((i) => i.resultCode !== 0),
  };
}

export function parseGroupResult(body: Body): GroupWriteResult {
  const first = arrayOf(body.GroupResultItem, 'GroupResultItem')[0];
  const result = recordOf(first, 'GroupResultItem[0]');
  const group = parseGroupItem(result.GroupItem, 'GroupResultItem[0].GroupItem');
  const items = arrayOf(result.ResultItem, 'GroupResultItem[0].ResultItem').map((r, i) =>
    parseItemResult(r, 'add', `GroupResultItem[0].ResultItem[${i}]`),
  );
  return writeResult(group, items);
}

export function parseUpdateResult(body: Body): GroupWriteResult {
  const r = recordOf(body.UpdateGroupResult, 'UpdateGroupResult');
  const group = {
    name: stringOf(r.GroupName, 'UpdateGroupResult.GroupName'),
    groupId: intOf(r.GroupId, 'UpdateGroupResult.GroupId'),
  };
  const items = arrayOf(r.ContactResultItem, 'UpdateGroupResult.ContactResultItem').map((item, i) => {
    const where = `UpdateGroupResult.ContactResultItem[${i}]`;
    const opType = recordOf(item, where).ContactOptType;
    if (opType !== 1 && opType !== 2) throw new MalformedResponse(`${where}.ContactOptType is not 1 or 2`);
    return parseItemResult(item, opType === 1 ? 'add' : 'remove', where);
  });
  return writeResult(group, items);
}

export function parseDeletedGroup(body: Body, name: string): { groupId: number } {
  const groups = parseGroupItems(body.GroupItem);
  const deleted = groups.find((g) => g.name === name) ?? groups[0];
  if (deleted === undefined) throw new MalformedResponse('GroupItem names no deleted group');
  return { groupId: deleted.groupId };
}

export function parseGroupsPage(body: Body): GroupsPage {
  const next = body.NextStartIndex;
  const flag = body.CompleteFlag;
  return {
    groups: parseGroupItems(body.GroupItem),
    conversations: parseContactResults(body.ContactItem, 'ContactItem'),
    complete: flag === 1,
    nextStartIndex: typeof next === 'number' && Number.isInteger(next) && next >= 0 ? next : 0,
    ...(typeof flag === 'number' ? { completeFlag: flag } : {}),
  };
}

/** A search_contact_group answer. */
export function parseSearchResult(body: Body): SearchResult {
  return {
    groups: parseGroupItems(body.GroupItem),
    conversations: parseContactResults(body.ContactResultItem, 'ContactResultItem'),
  };
}
