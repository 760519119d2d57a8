import type { CheckpointStore } from '../executor/log/checkpoint.js';
import type { DesiredUser, Mode } from '../model.js';
import type { StateSnapshot } from './state-snapshot.js';

/**
 * Which users of a CSV a run applies, and the `--state` bookkeeping (see apply-csv.ts). Users whose
 * rows did not change since the snapshot, and users the checkpoint has as done (a resumed run), are
 * left out before they are read; in mirror mode, users of the snapshot missing from the input are
 * emptied. Applied users take their new digest in the snapshot; failed and emptied ones leave it
 * (they are retried next time).
 */
export class UserSelection {
  /** Users left out because their rows did not change since the snapshot. */
  unchangedUsers = 0;
  /** Users done by an earlier run of this checkpoint. */
  resumedDone = 0;
  /**
   * Memberships of users left out as unchanged or done: the run looked at them through the snapshot
   * or the checkpoint, so they count in the guard's base (else one changed user out of thousands
   * would trip a percentage, and a resumed run would judge its rest against a smaller base).
   */
  unchangedMemberships = 0;
  readonly #snapshot: StateSnapshot | undefined;
  readonly #checkpoint: CheckpointStore;
  readonly #refresh: boolean;
  /** With a snapshot: the digests of the users to apply (changed ones only). */
  readonly #pending = new Map<string, string>();
  /** Mirror with a snapshot: the snapshot's users not seen in the input yet. */
  readonly #unseen: Set<string> | undefined;
  readonly #vanished = new Set<string>();
  /** Settles a user's place in the snapshot; undefined without one. */
  readonly onOutcome: ((user: string, outcome: 'done' | 'failed') => void) | undefined;

  constructor(
    snapshot: StateSnapshot | undefined,
    checkpoint: CheckpointStore,
    options: { readonly mode: Mode; readonly refresh?: boolean },
  ) {
    this.#snapshot = snapshot;
    this.#checkpoint = checkpoint;
    this.#refresh = options.refresh === true;
    this.#unseen =
      snapshot !== undefined && options.mode === 'mirror' ? new Set(snapshot.users.keys()) : undefined;
    this.onOutcome =
      snapshot === undefined
        ? undefined
        : (user, outcome) => {
            const digest = this.#pending.get(user);
            this.#pending.delete(user);
            if (outcome === 'done' && digest !== undefined) snapshot.users.set(user, digest);
            else snapshot.users.delete(user);
          };
  }

  /** The input's users, then (mirror with a snapshot) the users applied last time and missing now, emptied. */
  async *withVanished(users: AsyncIterable<DesiredUser>): AsyncGenerator<DesiredUser> {
    const unseen = this.#unseen;
    for await (const desired of users) {
      unseen?.delete(desired.user);
      yield desired;
    }
    for (const user of [...(unseen ?? [])].sort()) {
      this.#vanished.add(user);
      yield { user, groups: [], lines: [], hasRejectedRows: false };
    }
  }

  /** Whether to leave a user out before it is read (`desiredDigest` is computed only when needed). */
  readonly skip = (desired: DesiredUser, desiredDigest: () => string): boolean => {
    const snapshot = this.#snapshot;
    if (snapshot !== undefined) {
      const digest = desiredDigest();
      if (!this.#refresh && snapshot.users.get(desired.user) === digest) {
        this.unchangedUsers++;
        this.#countMemberships(desired);
        return true;
      }
      if (!this.#vanished.has(desired.user)) this.#pending.set(desired.user, digest);
    }
    if (this.#checkpoint.progressOf(desired.user)?.status === 'done') {
      this.resumedDone++;
      this.#countMemberships(desired);
      this.onOutcome?.(desired.user, 'done');
      return true;
    }
    return false;
  };

  #countMemberships(desired: DesiredUser): void {
    for (const g of desired.groups) this.unchangedMemberships += g.conversations.length;
  }
}
