import { SyncError } from '../errors.js';
import type { ConversationType } from '../model.js';

/** One group as `GET /__emulator/state` shows it. Members in the order they were added. */
export interface StateGroup {
  readonly groupId: number;
  readonly name: string;
  readonly members: readonly { readonly type: ConversationType; readonly id: string }[];
}

/**
 * The full state as `GET /__emulator/state` and `store.state()` show it: users (sorted) → groups
 * (by GroupId). Users without groups are left out.
 */
export interface EmulatorState {
  readonly users: Readonly<Record<string, readonly StateGroup[]>>;
}

/** The state file: like {@link EmulatorState} plus each user's next GroupId, so ids are never reused. */
export interface StoreSnapshot {
  readonly version: 1;
  readonly users: Readonly<
    Record<string, { readonly nextGroupId: number; readonly groups: readonly StateGroup[] }>
  >;
}

function isFields(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(where: string, what: string): SyncError {
  return new SyncError('CHECKPOINT', `Invalid emulator state: ${where} ${what}`);
}

function parseGroups(value: unknown, user: string): StateGroup[] {
  if (!Array.isArray(value)) throw bad(`users["${user}"]`, 'must be an array of groups');
  const ids = new Set<number>();
  return value.map((g: unknown, i): StateGroup => {
    const where = `users["${user}"][${i}]`;
    if (!isFields(g)) throw bad(where, 'must be an object');
    const { groupId, name, members } = g;
    if (typeof groupId !== 'number' || !Number.isSafeInteger(groupId) || groupId < 1) {
      throw bad(`${where}.groupId`, 'must be an integer >= 1');
    }
    if (ids.has(groupId)) throw bad(`${where}.groupId`, `repeats ${groupId}`);
    ids.add(groupId);
    if (typeof name !== 'string' || name.length === 0)
      throw bad(`${where}.name`, 'must be a non-empty string');
    if (!Array.isArray(members)) throw bad(`${where}.members`, 'must be an array');
    return {
      groupId,
      name,
      members: members.map((m: unknown, j) => {
        if (!isFields(m) || (m.type !== 1 && m.type !== 2) || typeof m.id !== 'string' || m.id.length === 0) {
          throw bad(`${where}.members[${j}]`, 'must be {type: 1|2, id: non-empty string}');
        }
        return { type: m.type, id: m.id };
      }),
    };
  });
}

/**
 * Narrows a state file (or a `GET /__emulator/state` body) into a snapshot. Both shapes are accepted:
 * `{version: 1, users: {u: {nextGroupId, groups}}}` and `{users: {u: [groups]}}`; without
 * `nextGroupId`, the next id is one past the highest. Throws `SyncError` code `CHECKPOINT`.
 */
export function parseSnapshot(data: unknown): StoreSnapshot {
  if (!isFields(data) || !isFields(data.users))
    throw bad('document', 'must be an object with a `users` object');
  if (data.version !== undefined && data.version !== 1)
    throw bad('version', `must be 1, got ${String(data.version)}`);
  const users: Record<string, { nextGroupId: number; groups: StateGroup[] }> = {};
  for (const [user, value] of Object.entries(data.users)) {
    if (user.length === 0) throw bad('users', 'has an empty UserID');
    const entry = isFields(value) ? value : { groups: value };
    const groups = parseGroups(entry.groups, user);
    const highest = groups.reduce((max, g) => Math.max(max, g.groupId), 0);
    const next = entry.nextGroupId ?? highest + 1;
    if (typeof next !== 'number' || !Number.isSafeInteger(next) || next <= highest) {
      throw bad(`users["${user}"].nextGroupId`, `must be an integer above ${highest}`);
    }
    users[user] = { nextGroupId: next, groups };
  }
  return { version: 1, users };
}
