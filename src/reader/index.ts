export type { HeaderLayout } from './header.js';
export { type ReadUsersOptions, readUsers } from './read-users.js';
export { isRejection, type RowOutcome, RowValidator } from './row-validator.js';
export { InputScan, scanInput } from './scan-input.js';
export type {
  HeaderForm,
  ReaderOptions,
  ReaderSummary,
  Rejection,
  RejectionRule,
  ScanSummary,
} from './types.js';
export type { UserStream } from './user-stream.js';
