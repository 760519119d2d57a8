// The public programmatic API: re-exports only.

export {
  type ApplyRunOptions,
  type ApplyRunResult,
  type ApplyStatus,
  type ApplySummary,
  apply,
} from './api/apply.js';
export {
  type Client,
  type ClientOptions,
  createClient,
  credentialsFromEnv,
  type Target,
} from './api/client.js';
export {
  type EmulatorOptions,
  type EmulatorStats,
  type RunningEmulator,
  startEmulator,
} from './api/emulator.js';
export {
  type ExportStateOptions,
  type ExportStateResult,
  exportState,
  type UnexportedUser,
} from './api/export-state.js';
export { type PlanRunOptions, type PlanRunResult, plan } from './api/plan.js';
export type { JobPhase, OnProgress, ProgressEvent } from './api/progress.js';
export {
  type UnreadableUser,
  type UserDrift,
  type VerifyResult,
  type VerifyRunOptions,
  type VerifyRunResult,
  verify,
} from './api/verify.js';
export { runCli } from './cli/run.js';
export { isSyncError, SyncError, type SyncErrorCode, type SyncErrorContext } from './errors.js';
export type { EndpointCounts } from './executor/rate/stats.js';
export type { LiveStats } from './executor/run-apply.js';
export * from './model.js';
export type { Shard } from './planner/shard.js';
export type { PlanSummary } from './planner/summary.js';
export type {
  LimitViolation,
  NameRisk,
  Operation,
  OperationKind,
  PlanOptions,
  UserPlan,
} from './planner/types.js';
export type { GuardVerdict } from './sync/guard.js';
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
