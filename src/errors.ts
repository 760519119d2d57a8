/**
 * The one error class of cgsync. Callers match on `code`, never on the message text.
 * Messages name the thing, the problem and the place.
 */
export type SyncErrorCode =
  /** Bad command line or option value. */
  | 'USAGE'
  /** Missing or invalid configuration (SDKAppID, key file, region, endpoint). */
  | 'CONFIG'
  /** A CSV row that breaks a row rule; carries `line`. */
  | 'INVALID_ROW'
  /** The CSV as a whole cannot be read (no header, missing columns, broken quoting, not UTF-8). */
  | 'INVALID_INPUT'
  /** A user that breaks a per-user limit (20 groups, 1000 conversations). */
  | 'USER_LIMIT'
  /** The API answered with an error code; carries `errorCode`. */
  | 'API'
  /** Network failure, timeout or a non-200 HTTP status. */
  | 'TRANSPORT'
  /** An HTTP 200 answer whose body is not the documented envelope or shape; carries an excerpt. */
  | 'UNEXPECTED_RESPONSE'
  /** UserSig generation or verification failure. */
  | 'AUTH'
  /** A checkpoint, plan or state file that does not belong to this run or cannot be read. */
  | 'CHECKPOINT'
  /** Another process holds the lock. */
  | 'LOCKED'
  /** The mirror-mode deletion guard refused the run. */
  | 'GUARD'
  /** The run was interrupted (signal or --max-duration). */
  | 'INTERRUPTED'
  /** A file could not be written or read. */
  | 'IO';

/** Structured context attached to a {@link SyncError}. Never put secrets here. */
export interface SyncErrorContext {
  line?: number;
  user?: string;
  group?: string;
  opId?: string;
  errorCode?: number;
  httpStatus?: number;
  attempt?: number;
  path?: string;
  value?: string;
}

export class SyncError extends Error {
  readonly code: SyncErrorCode;
  readonly context: SyncErrorContext;

  constructor(code: SyncErrorCode, message: string, context: SyncErrorContext = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SyncError';
    this.code = code;
    this.context = context;
  }
}

export function isSyncError(value: unknown, code?: SyncErrorCode): value is SyncError {
  return value instanceof SyncError && (code === undefined || value.code === code);
}
