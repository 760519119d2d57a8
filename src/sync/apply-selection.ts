import type { CheckpointStore } from '../executor/log/checkpoint.js';
import type { DesiredUser, Mode } from '../model.js';
import { userOrderKey } from '../reader/index.js';
import { BatchCursor } from './batch-cursor.js';
import type { LastInput } from './last-input.js';
import { StateChanges } from './state-changes.js';
import type { StateIdentity, StateRecord, StateSource } from './state-file.js';

/**
 * Which users of a CSV a run applies, and the `--state` bookkeeping (see apply-csv.ts). With a
 * snapshot, the input's users (in the canonical order, src/reader/users/user-order.ts) are
 * merge-joined with the snapshot's records (the same order, streamed): users whose rows did not change
 * are left out before they are read; in mirror mode, users only in the snapshot vanished from the
 * export and are emptied ({@link vanished}) once the guard allowed it, which it first decides from
 * their counts in the snapshot ({@link vanishedCounts}). Users the checkpoint has as done (a resumed
 * run) are left out before they are read. Applied users take their new record in the snapshot, failed
 * ones lose it (they are retried next time); emptied users lose it, vanished users that failed keep
 * it. Memory does not grow with the users: the changes are kept on disk ({@link StateChanges}).
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
  /**
   * With a snapshot: the input's users the join met (of the shard) and their memberships, recorded as
   * its `LastInput` when the run settles them all.
   */
  readonly input = { users: 0, memberships: 0 };
  /**
   * Mirror: users of the snapshot missing from the export that an earlier run of this checkpoint
   * emptied; this run does not, so their lines stay in the snapshot.
   */
  vanishedKept = 0;
  /** Mirror with a snapshot: the users that vanished from the export, and their memberships applied. */
  readonly vanishedCounts = { users: 0, memberships: 0, unknown: 0 };
  readonly #state: StateSource | undefined;
  readonly #changes: StateChanges | undefined;
  readonly #checkpoint: CheckpointStore;
  readonly #refresh: boolean;
  readonly #mirror: boolean;
  /** The snapshot's record of the user the join yielded last, if it has one. */
  #current: StateRecord | undefined;
  /** True while the vanished users are read. */
  #vanishing = false;
  /** Settles a user's place in the snapshot; undefined without one. */
  readonly onOutcome: ((user: string, outcome: 'done' | 'failed') => void) | undefined;

  constructor(
    state: StateSource | undefined,
    checkpoint: CheckpointStore,
    options: { readonly mode: Mode; readonly refresh?: boolean; readonly dir: string },
  ) {
    this.#state = state;
    this.#checkpoint = checkpoint;
    this.#refresh = options.refresh === true;
    this.#mirror = options.mode === 'mirror';
    const changes = state === undefined ? undefined : new StateChanges(options.dir);
    this.#changes = changes;
    this.onOutcome =
      changes === undefined
        ? undefined
        : (user, outcome) => {
            if (outcome === 'done') changes.done(user);
          };
  }

  /**
   * The input's users, merge-joined with the snapshot. `users` must come in the canonical order
   * (`scan.users({ order: 'canonical' })`) when there is a snapshot.
   */
  async *join(users: AsyncIterable<DesiredUser>): AsyncGenerator<DesiredUser> {
    const changes = this.#changes;
    if (this.#state === undefined || changes === undefined) {
      yield* users;
      return;
    }
    const olds = await BatchCursor.open(this.#state.batches());
    try {
      let previous = '';
      for await (const desired of users) {
        const key = userOrderKey(desired.user);
        if (key <= previous) throw new Error(`UserSelection.join: "${desired.user}" out of canonical order`);
        previous = key;
        // Awaits only when a batch of records is used up or changes are written (not per user).
        for (let old = olds.current; old !== undefined && old.key < key; old = olds.current) {
          const step = this.#vanish(old, changes, olds);
          if (step !== undefined) await step;
        }
        this.#current = undefined;
        if (olds.current?.key === key) {
          this.#current = olds.current;
          const next = olds.advance();
          if (next !== undefined) await next;
        }
        yield desired;
        this.#current = undefined;
        const written = changes.flush();
        if (written !== undefined) await written;
      }
      for (let old = olds.current; old !== undefined; old = olds.current) {
        const step = this.#vanish(old, changes, olds);
        if (step !== undefined) await step;
      }
    } finally {
      await olds.close();
    }
    await changes.close();
  }

  /** Mirror: the users that vanished from the export, as users with no groups, to be emptied. */
  async *vanished(): AsyncGenerator<DesiredUser> {
    if (this.#changes === undefined) return;
    this.#vanishing = true;
    for await (const record of this.#changes.vanished()) {
      yield { user: record.user, groups: [], lines: [], hasRejectedRows: false };
    }
  }

  /** `old` is only in the snapshot; then the cursor moves on (awaiting only when it must). */
  #vanish(
    old: StateRecord,
    changes: StateChanges,
    olds: BatchCursor<StateRecord>,
  ): Promise<void> | undefined {
    this.#onlyInSnapshot(old);
    const written = changes.flush();
    if (written !== undefined) return written.then(() => olds.advance());
    return olds.advance();
  }

  #onlyInSnapshot(record: StateRecord): void {
    // Merge mode keeps the records of users it does not see.
    if (!this.#mirror) return;
    this.#changes?.vanish(record);
    // Emptied by an earlier run of this checkpoint: nothing left to remove.
    if (this.#checkpoint.progressOf(record.user)?.status === 'done') {
      this.vanishedKept++;
      return;
    }
    this.vanishedCounts.users++;
    if (record.memberships === undefined) this.vanishedCounts.unknown++;
    else this.vanishedCounts.memberships += record.memberships;
  }

  /** Whether to leave a user out before it is read (`desiredDigest` is computed only when needed). */
  readonly skip = (desired: DesiredUser, desiredDigest: () => string): boolean => {
    const changes = this.#changes;
    if (changes !== undefined && !this.#vanishing) {
      this.input.users++;
      for (const g of desired.groups) this.input.memberships += g.conversations.length;
      const old = this.#current?.user === desired.user ? this.#current : undefined;
      const digest = desiredDigest();
      if (!this.#refresh && old?.digest === digest) {
        this.unchangedUsers++;
        this.#countMemberships(desired);
        // The record is built only when it is written (most users of a night are unchanged).
        if (old.memberships === undefined) changes.keep(recordOf(desired, digest));
        return true;
      }
      changes.apply(recordOf(desired, digest));
    }
    if (this.#checkpoint.progressOf(desired.user)?.status === 'done') {
      this.resumedDone++;
      this.#countMemberships(desired);
      this.onOutcome?.(desired.user, 'done');
      return true;
    }
    return false;
  };

  /**
   * The input is the snapshot's `last` input (last-input.ts): every user of it is unchanged and none
   * vanished, as the join would find, without reading a row.
   */
  settleAsUnchanged(last: LastInput): void {
    this.unchangedUsers = last.users;
    this.unchangedMemberships = last.memberships;
  }

  /** Writes the new snapshot (the write phase ended); resolves with its generation. */
  async save(identity: StateIdentity): Promise<string | undefined> {
    if (this.#state === undefined) return undefined;
    return this.#changes?.save(this.#state, identity);
  }

  /** Removes the working files of the bookkeeping. */
  async dispose(): Promise<void> {
    await this.#changes?.dispose();
  }

  #countMemberships(desired: DesiredUser): void {
    for (const g of desired.groups) this.unchangedMemberships += g.conversations.length;
  }
}

/** The snapshot's record of a user applied with `digest`: what the guard needs if it vanishes later. */
function recordOf(desired: DesiredUser, digest: string): StateRecord {
  let memberships = 0;
  for (const g of desired.groups) memberships += g.conversations.length;
  return {
    user: desired.user,
    key: userOrderKey(desired.user),
    digest,
    memberships,
    groups: desired.groups.length,
  };
}
