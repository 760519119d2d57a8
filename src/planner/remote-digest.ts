import { conversationKey, type RemoteUser } from '../model.js';
import { canonicalJson, compareCodeUnits, sha256Hex } from './canonical.js';

/**
 * The digest of what the app held for a user when it was planned: sha256 (hex) of the canonical JSON
 * of `{"groups":[{"conversations":[sorted keys],"name":…},…]}`, groups sorted by name then by their
 * conversations (a name held twice stays twice). Group ids are left out: they say nothing a plan
 * depends on. `apply plan.ndjson` reads the user again before its first write and compares.
 */
export function digestRemote(remote: RemoteUser | undefined): string {
  const groups = (remote?.groups ?? []).map((g) => {
    const conversations = g.conversations.map(conversationKey).sort(compareCodeUnits);
    return {
      conversations,
      name: g.name,
      order: `${JSON.stringify(g.name)}\u0000${conversations.join('\u0000')}`,
    };
  });
  groups.sort((a, b) => compareCodeUnits(a.order, b.order));
  return sha256Hex(
    canonicalJson({ groups: groups.map(({ conversations, name }) => ({ conversations, name })) }),
  );
}

/** {@link digestRemote} of an empty app: what a plan made with `--assume-empty` records. */
export const EMPTY_REMOTE_DIGEST = digestRemote(undefined);
