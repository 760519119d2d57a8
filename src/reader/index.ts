export type { HeaderLayout } from './csv/header.js';
export { isRejection, type RowOutcome, RowValidator } from './csv/row-validator.js';
export { type ReadUsersOptions, readUsers } from './read-users.js';
export { InputScan, scanInput } from './scan-input.js';
export type {
  HeaderForm,
  ReaderOptions,
  ReaderSummary,
  Rejection,
  RejectionRule,
  ScanSummary,
} from './types.js';
export type { UserStream } from './users/user-stream.js';
