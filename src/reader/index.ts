// The reader's one public entry: everything outside src/reader/ imports from here. See README.md.

export { FAILURE_COLUMNS, FORMULA_FIRST, isFailuresHeader } from './csv/failures-format.js';
export { CANONICAL_HEADER, type HeaderLayout } from './csv/header.js';
export { isRejection, type RowOutcome, RowValidator } from './csv/row-validator.js';
export { type ReadUsersOptions, readUsers } from './read-users.js';
export { InputScan, releaseStaged, scanInput } from './scan-input.js';
export { partitionCount, partitionUnits } from './stage/partitions.js';
export { escapeValue, unescapeValue } from './stage/row-codec.js';
export { type StagedRows, type StagedSegment, type StagedUnit, segmentsUnit } from './stage/staged.js';
export type {
  HeaderForm,
  ReaderOptions,
  ReaderSummary,
  Rejection,
  RejectionRule,
  ScanEvent,
  ScanPart,
  ScanPartFacts,
  ScanSummary,
} from './types.js';
export {
  compareUserOrder,
  type UserOrder,
  userOrderKey,
  userOrderKeyEscaped,
} from './users/user-order.js';
export { stagedUsers, type UserStream } from './users/user-stream.js';
