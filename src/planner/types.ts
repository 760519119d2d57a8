import type { Conversation, Mode } from '../model.js';

/**
 * One API write. `id` is derived from the content (user, kind, group, items), so the same plan always
 * has the same ids; the checkpoint records outcomes by id.
 *
 * - `create`: create_contact_group with up to 100 initial conversations (`add`, possibly empty).
 * - `update`: update_contact_group (UpdateGroupType 2) with up to 100 items, adds and removals mixed.
 * - `delete`: del_contact_group (mirror mode only).
 */
export type Operation =
  | {
      readonly id: string;
      readonly kind: 'create';
      readonly user: string;
      readonly group: string;
      readonly add: readonly Conversation[];
    }
  | {
      readonly id: string;
      readonly kind: 'update';
      readonly user: string;
      readonly group: string;
      readonly add: readonly Conversation[];
      readonly remove: readonly Conversation[];
    }
  | {
      readonly id: string;
      readonly kind: 'delete';
      readonly user: string;
      readonly group: string;
      /**
       * The conversations the group held when the plan was made (all the service groups of this name):
       * what `--backup` writes before the delete. Not part of the id. Absent in plans made before it was
       * recorded, and in plans made without reading the app.
       */
      readonly held?: readonly Conversation[];
    };

export type OperationKind = Operation['kind'];

/** A user left out whole because it breaks a per-user limit. */
export interface LimitViolation {
  readonly user: string;
  readonly limit: 'groups' | 'conversations';
  /** The count the user would reach (after merging with the app's state in merge mode). */
  readonly count: number;
  readonly max: number;
  readonly message: string;
}

/** An {@link Operation} of a plan that was only counted: without its id. */
export type CountedOperation = Operation extends infer O
  ? O extends Operation
    ? Omit<O, 'id'>
    : never
  : never;

/**
 * A user's plan that was only counted (for a summary or a report): the same operations without
 * ids, and no digests, which saves the sha256s. It cannot be executed or written to a plan file: a
 * {@link UserPlan} can.
 */
export interface CountedPlan {
  readonly user: string;
  readonly operations: readonly CountedOperation[];
  readonly violations: readonly LimitViolation[];
  /** Counts for summaries. */
  readonly stats: UserPlanStats;
  /**
   * Present (and true) when mirror mode was asked for but the user has rejected rows: its intent is
   * unknown, so it was planned as merge (nothing removed or deleted).
   */
  readonly downgradedToMerge?: boolean;
  /** Remote groups that share a name; each name was planned as one group (the union of its members). */
  readonly duplicateGroups?: readonly DuplicateGroup[];
  /**
   * Desired groups whose name is longer than 32 UTF-8 bytes: under the update page's reading
   * (OldGroupName up to 32 bytes, 51011) no update call can name them. Not written to plan files.
   */
  readonly nameRisks?: readonly NameRisk[];
}

/** The plan for one user: operations in execution order, or the violations that left it out. */
export interface UserPlan extends CountedPlan {
  readonly operations: readonly Operation[];
  /** sha256 of the user's canonical desired state, for the --state snapshot. */
  readonly desiredDigest: string;
  /**
   * sha256 of the state the app held when the user was planned (remote-digest.ts); absent when it was
   * not read (the app taken as empty). `apply plan.ndjson` compares it with a fresh read.
   */
  readonly remoteDigest?: string;
}

/**
 * A group whose name (33-64 bytes) the create page allows but the update page's 32-byte reading
 * refuses in `OldGroupName`: created fine, then never updatable.
 */
export interface NameRisk {
  readonly user: string;
  readonly group: string;
  /** The name's UTF-8 bytes. */
  readonly bytes: number;
  /** This plan updates the group (those calls fail under that reading); otherwise a later sync would. */
  readonly updateNow: boolean;
}

/** Several remote groups with one name (a service that allows duplicate names, or a past bug). */
export interface DuplicateGroup {
  readonly name: string;
  /** The service's ids of the groups with this name, ascending. */
  readonly groupIds: readonly number[];
}

export interface UserPlanStats {
  readonly groupsCreated: number;
  readonly groupsDeleted: number;
  readonly membershipsAdded: number;
  readonly membershipsRemoved: number;
  /** Memberships already in place (left alone). */
  readonly membershipsUnchanged: number;
  /** Memberships the run looks at: the user's remote memberships (the base for --max-delete P%). */
  readonly membershipsExamined: number;
  /** Groups in the desired state (the CSV). Always set by `planUser`. */
  readonly desiredGroups?: number;
  /** Distinct conversations across the desired groups. Always set by `planUser`. */
  readonly desiredConversations?: number;
  /** Memberships (group, conversation) in the desired state. Always set by `planUser`. */
  readonly desiredMemberships?: number;
}

export interface PlanOptions {
  readonly mode: Mode;
  /** When true, remote state is not read: the app is taken as empty. */
  readonly assumeEmpty: boolean;
}
