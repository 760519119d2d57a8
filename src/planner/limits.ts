import { LIMITS } from '../model.js';
import { distinctKeys, type FoldedRemote, type LogicalGroup } from './normalize.js';
import type { LimitViolation } from './types.js';

/**
 * The per-user limits, checked before any call.
 * - merge: counted on the state after merging (what the app holds plus what the CSV adds);
 *   groups the service holds twice under one name count twice, as the service counts them.
 * - mirror: counted on the desired state (plus extra service groups sharing a kept name, which a
 *   mirror run does not remove).
 * Conversations the app holds with a mark count toward the 1000 in both modes (marks and groups
 * share the limit, and cgsync never removes a mark).
 */
export function checkLimits(
  user: string,
  want: ReadonlyMap<string, LogicalGroup>,
  have: FoldedRemote,
  mirror: boolean,
  /** Distinct conversations of `want`, when the caller already counted them. */
  desiredConversations?: number,
): LimitViolation[] {
  const violations: LimitViolation[] = [];
  const merging = !mirror && have.physicalGroups > 0;
  let groups = 0;
  if (mirror) {
    for (const name of want.keys()) groups += have.groups.get(name)?.groupIds.length ?? 1;
  } else {
    groups = have.physicalGroups;
    for (const name of want.keys()) if (!have.groups.has(name)) groups += 1;
  }
  if (groups > LIMITS.groupsPerUser) {
    const context = merging ? ` after merging with the ${have.physicalGroups} already in the app` : '';
    violations.push({
      user,
      limit: 'groups',
      count: groups,
      max: LIMITS.groupsPerUser,
      message: `user ${user} has ${groups} groups${context}, the limit is ${LIMITS.groupsPerUser}`,
    });
  }
  let conversations = desiredConversations ?? distinctKeys(want.values()).size;
  let held = 0;
  let marksCounted = 0;
  if ((!mirror && have.groups.size > 0) || have.marked.size > 0) {
    const wanted = distinctKeys(want.values());
    const counted = new Set<string>();
    if (!mirror && have.groups.size > 0) {
      const remoteKeys = distinctKeys(have.groups.values());
      held = remoteKeys.size;
      for (const k of remoteKeys) {
        if (!wanted.has(k)) {
          conversations += 1;
          counted.add(k);
        }
      }
    }
    for (const k of have.marked) {
      if (!wanted.has(k) && !counted.has(k)) {
        conversations += 1;
        marksCounted += 1;
      }
    }
  }
  if (conversations > LIMITS.conversationsPerUser) {
    const parts: string[] = [];
    if (merging && held > 0) parts.push(`after merging with the ${held} already in the app`);
    if (marksCounted > 0) {
      parts.push(
        `counting ${marksCounted} more that carry only a mark in the app (marks and groups share the limit)`,
      );
    }
    const context = parts.length === 0 ? '' : ` ${parts.join(', ')}`;
    violations.push({
      user,
      limit: 'conversations',
      count: conversations,
      max: LIMITS.conversationsPerUser,
      message: `user ${user} has ${conversations} conversations${context}, the limit is ${LIMITS.conversationsPerUser}`,
    });
  }
  return violations;
}
