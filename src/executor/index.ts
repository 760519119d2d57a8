// The executor's public surface: re-exports only.

export type { FailedItem, UserOutcome, UserWork } from './apply-user.js';
export {
  Checkpoint,
  type CheckpointFile,
  type CheckpointStore,
  type LoadedCheckpoint,
  loadCheckpoint,
  type OpenCheckpointOptions,
  openCheckpoint,
  type UserProgress,
} from './checkpoint.js';
export {
  type CheckpointHeader,
  type CheckpointRecord,
  computeRunKey,
  type RunIdentity,
} from './checkpoint-records.js';
export { type Clock, systemClock } from './clock.js';
export {
  CANONICAL_HEADER,
  escapeFormula,
  FAILURE_COLUMNS,
  FailuresWriter,
  type RejectedRow,
} from './failures-file.js';
export {
  type CallGate,
  createEndpointLimiters,
  type EndpointScheduler,
  isGateFailure,
  type LimiterOptions,
} from './limiters.js';
export { acquireLock, type Lock, type LockOptions, lockPathFor } from './lock.js';
export { createProgress, formatSummary, type Progress, type ProgressOptions } from './progress.js';
export { applyToRemote, readRemoteUser, reconcileOperation } from './reconcile.js';
export {
  backoffMs,
  type CallOptions,
  callWithRetry,
  judgeFailure,
  type RetryPolicy,
  type Verdict,
} from './retry.js';
export {
  type ApplyOptions,
  type LiveStats,
  type ProgressSink,
  type RunApplyParams,
  type RunResult,
  runApply,
} from './run-apply.js';
export { CallStats, type EndpointCounts } from './stats.js';
