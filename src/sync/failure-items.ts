import type { FailedItem } from '../executor/apply-user.js';
import { type DesiredUser, membershipKey } from '../model.js';
import type { UserPlan } from '../planner/types.js';

/** The rows of a user left out for a limit, as failures-file items (the limit's API code). */
export function limitFailures(desired: DesiredUser, plan: UserPlan): FailedItem[] {
  const violation = plan.violations[0];
  if (violation === undefined) return [];
  return userFailures(desired, violation.limit === 'groups' ? 51010 : 51008, violation.message);
}

/**
 * Every row of a user that is not applied at all (over a limit, or its state could not be read), as
 * failures-file items with one code and message: empty groups as `create`, memberships as `add`.
 */
export function userFailures(
  desired: DesiredUser,
  errorCode: number | string,
  message: string,
): FailedItem[] {
  const items: FailedItem[] = [];
  for (const group of desired.groups) {
    const members = group.conversations.length === 0 ? [undefined] : group.conversations;
    for (const conversation of members) {
      const line = desired.lineOf?.get(membershipKey(group.name, conversation));
      items.push({
        user: desired.user,
        group: group.name,
        ...(conversation === undefined ? {} : { conversation }),
        action: conversation === undefined ? 'create' : 'add',
        errorCode,
        message,
        ...(line === undefined ? {} : { line }),
        opId: '',
      });
    }
  }
  return items;
}
