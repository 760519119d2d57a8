// The executor's public surface: re-exports only.

export type { FailedItem, UserOutcome, UserWork } from './apply-user.js';
export { type Clock, systemClock } from './clock.js';
export {
  Checkpoint,
  type CheckpointFile,
  type CheckpointStore,
  type LoadedCheckpoint,
  loadCheckpoint,
  type OpenCheckpointOptions,
  openCheckpoint,
  type UserProgress,
} from './log/checkpoint.js';
export {
  type CheckpointHeader,
  type CheckpointRecord,
  computeRunKey,
  type RunIdentity,
} from './log/checkpoint-records.js';
export { acquireLock, type Lock, type LockOptions, lockPathFor } from './log/lock.js';
export {
  type CallGate,
  countingApart,
  createEndpointLimiters,
  type EndpointScheduler,
  isGateFailure,
  type LimiterOptions,
} from './rate/limiters.js';
export { CallStats, type EndpointCounts } from './rate/stats.js';
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
