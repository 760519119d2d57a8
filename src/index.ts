// The public programmatic API: re-exports only.

export { runCli } from './cli/run.js';
export { isSyncError, SyncError, type SyncErrorCode, type SyncErrorContext } from './errors.js';
export * from './model.js';
export type {
  LimitViolation,
  NameRisk,
  Operation,
  OperationKind,
  PlanOptions,
  UserPlan,
} from './planner/types.js';
export type {
  ChatApi,
  GroupsPage,
  GroupWriteResult,
  ItemResult,
  ListedConversation,
  MemberChanges,
  ReadStateOptions,
  SearchResult,
} from './tencent/api.js';
export { readUserState } from './tencent/api.js';
export {
  classifyFailure,
  describeErrorCode,
  ERROR_CODES,
  type ErrorClass,
  type Failure,
} from './tencent/error-codes.js';
export { REGIONS, type Region, resolveBaseUrl } from './tencent/regions.js';
export { decodeUserSig, signUserSig, UserSigCache, verifyUserSig } from './tencent/usersig.js';
