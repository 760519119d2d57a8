import type { EmulatorStats } from '../../src/emulator/server.js';
import { ENDPOINTS, type Endpoint } from '../../src/tencent/wire.js';
import { expectedRowsStreaming, overLimits } from '../../test/helpers/expected-state.js';
import type { EmulatorProcess } from './emulator-process.js';

/** What the emulator holds, as `GET /__emulator/state` returns it. */
interface StateSnapshot {
  readonly users: Record<
    string,
    readonly { name: string; members: readonly { type: number; id: string }[] }[]
  >;
}

/** The size of an end state that matched. */
export interface EndState {
  readonly users: number;
  readonly groups: number;
  readonly memberships: number;
}

/**
 * Fails unless the emulator holds exactly what `csv` says, by the documented rules computed apart
 * from cgsync (test/helpers/expected-state.ts): every user's groups and conversations, no group twice,
 * nothing more (users over a limit hold nothing).
 */
export async function checkEndState(emulator: EmulatorProcess, csv: string): Promise<EndState> {
  const expected = (await expectedRowsStreaming(csv)).users;
  const snapshot = JSON.parse(await emulator.stateText()) as StateSnapshot;
  const problems: string[] = [];
  let groups = 0;
  let memberships = 0;
  for (const [user, held] of Object.entries(snapshot.users)) {
    const want = expected.get(user);
    if (want === undefined || overLimits(want)) {
      if (held.length > 0) problems.push(`${user} holds ${held.length} group(s) the CSV does not give it`);
      continue;
    }
    const names = new Set<string>();
    for (const group of held) {
      if (names.has(group.name)) problems.push(`${user} holds "${group.name}" twice`);
      names.add(group.name);
      const conversations = want.get(group.name);
      if (conversations === undefined) {
        problems.push(`${user} holds an extra group "${group.name}"`);
        continue;
      }
      const keys = new Set(group.members.map((m) => `${m.type}:${m.id}`));
      const missing = [...conversations].filter((k) => !keys.has(k)).length;
      const extra = [...keys].filter((k) => !conversations.has(k)).length;
      if (missing + extra > 0 || keys.size !== group.members.length) {
        problems.push(
          `${user}/"${group.name}": ${missing} missing, ${extra} extra, ${group.members.length - keys.size} twice`,
        );
      }
      groups++;
      memberships += keys.size;
    }
    for (const name of want.keys()) if (!names.has(name)) problems.push(`${user} lacks group "${name}"`);
  }
  for (const [user, want] of expected) {
    if (want.size > 0 && !overLimits(want) && snapshot.users[user] === undefined) {
      problems.push(`${user} is missing`);
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `the emulator's end state differs from ${csv} in ${problems.length} place(s): ${problems.slice(0, 5).join('; ')}`,
    );
  }
  return { users: Object.keys(snapshot.users).length, groups, memberships };
}

/** Calls the emulator received per endpoint (accepted or answered 60007): the count no client can inflate. */
export function receivedCalls(stats: EmulatorStats): Record<Endpoint, number> {
  const out = {} as Record<Endpoint, number>;
  for (const e of ENDPOINTS) out[e] = stats.endpoints[e].accepted + stats.endpoints[e].rateLimited;
  return out;
}
