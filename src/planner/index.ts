// The planner's public surface: re-exports only.

export {
  addUserCalls,
  type CallCounts,
  type CountCallsOptions,
  countCalls,
  emptyCallCounts,
  estimateDuration,
} from './calls.js';
export { canonicalJson, type JsonValue, sha256Hex } from './canonical.js';
export { chunk } from './chunk.js';
export { assignOperationIds, type DraftOperation, hashOperation } from './operation-id.js';
export {
  createPlanHeader,
  PLAN_FORMAT,
  PLAN_VERSION,
  type PlanFile,
  PlanFileWriter,
  type PlanFileWriterOptions,
  type PlanHeader,
  readPlanFile,
  writePlanFile,
} from './plan-file.js';
export { desiredDigestOf, planUser } from './plan-user.js';
export { renderHtml } from './report-html.js';
export { renderMarkdown } from './report-markdown.js';
export { renderText } from './report-text.js';
export {
  type HistogramBucket,
  type PlanSummary,
  type RowRejection,
  SummaryBuilder,
  type SummaryOptions,
  type UserRemovals,
} from './summary.js';
export type {
  DuplicateGroup,
  LimitViolation,
  Operation,
  OperationKind,
  PlanOptions,
  UserPlan,
  UserPlanStats,
} from './types.js';
