import type { WireContactItem } from '../../src/tencent/wire.js';

/** Small request builders for the five endpoints, in the wire shape. */

export const c2c = (id: string): WireContactItem => ({ Type: 1, To_Account: id });
export const grp = (id: string): WireContactItem => ({ Type: 2, ToGroupId: id });

export function createBody(user: string, name: string, items?: readonly unknown[]): Record<string, unknown> {
  return {
    From_Account: user,
    GroupContactItem: [items === undefined ? { GroupName: name } : { GroupName: name, ContactItem: items }],
  };
}

export function renameBody(user: string, oldName: string, newName: string): Record<string, unknown> {
  return {
    From_Account: user,
    UpdateType: 1,
    UpdateGroup: { UpdateGroupType: 1, OldGroupName: oldName, NewGroupName: newName },
  };
}

export function membersBody(
  user: string,
  name: string,
  add: readonly unknown[],
  remove: readonly unknown[] = [],
): Record<string, unknown> {
  return orderedBody(user, name, [
    ...add.map((c): ['add', unknown] => ['add', c]),
    ...remove.map((c): ['remove', unknown] => ['remove', c]),
  ]);
}

/** An update whose items are sent in exactly this order. */
export function orderedBody(
  user: string,
  name: string,
  items: readonly (readonly ['add' | 'remove', unknown])[],
): Record<string, unknown> {
  return {
    From_Account: user,
    UpdateType: 1,
    UpdateGroup: {
      UpdateGroupType: 2,
      OldGroupName: name,
      ContactUpdateItem: items.map(([op, c]) => ({ ContactOptType: op === 'add' ? 1 : 2, ContactItem: c })),
    },
  };
}

export function deleteBody(user: string, name: string): Record<string, unknown> {
  return { From_Account: user, GroupName: [name] };
}

export function searchBody(user: string, items: readonly unknown[]): Record<string, unknown> {
  return { From_Account: user, ContactItem: items };
}

export function getBody(user: string, startIndex: number): Record<string, unknown> {
  return { From_Account: user, StartIndex: startIndex };
}

/** `n` distinct C2C conversations `${prefix}0 … ${prefix}{n-1}`. */
export function peers(n: number, prefix = 'p'): WireContactItem[] {
  return Array.from({ length: n }, (_, i) => c2c(`${prefix}${i}`));
}
