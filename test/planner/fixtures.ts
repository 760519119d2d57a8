import type { Conversation, DesiredUser, RemoteUser } from '../../src/model.js';

export const c2c = (id: string): Conversation => ({ type: 1, id });
export const grp = (id: string): Conversation => ({ type: 2, id });

/** `n` one-to-one conversations `prefix0`, `prefix1`, …. */
export function peers(prefix: string, n: number, from = 0): Conversation[] {
  return Array.from({ length: n }, (_, i) => c2c(`${prefix}${from + i}`));
}

/** A desired user from `{ groupName: conversations }` (any order: the planner sorts). */
export function desiredUser(
  user: string,
  groups: Record<string, readonly Conversation[]>,
  options: { hasRejectedRows?: boolean } = {},
): DesiredUser {
  return {
    user,
    groups: Object.entries(groups).map(([name, conversations]) => ({ name, conversations })),
    lines: [],
    hasRejectedRows: options.hasRejectedRows ?? false,
  };
}

/** A remote user from `[name, conversations]` pairs (names may repeat); group ids 1, 2, … in order. */
export function remoteUser(
  user: string,
  groups: readonly (readonly [string, readonly Conversation[]])[],
): RemoteUser {
  return {
    user,
    groups: groups.map(([name, conversations], i) => ({ groupId: i + 1, name, conversations })),
  };
}
