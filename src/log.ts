import { type DestinationStream, type Logger, pino } from 'pino';
import { SyncError } from './errors.js';

const SECRET_PARAM = /([?&](?:usersig|UserSig|secret[_-]?key)=)[^&\s"]*/g;

/** Masks `usersig=` (and any secret-key parameter) inside a URL or any string. */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_PARAM, '$1[Redacted]');
}

/** The text of an error for the user: a SyncError's message, anything else as unexpected; no secrets. */
export function describeError(err: unknown): string {
  if (err instanceof SyncError) return redactSecrets(err.message);
  if (err instanceof Error) return redactSecrets(`unexpected error: ${err.message}`);
  return redactSecrets(`unexpected error: ${String(err)}`);
}

/**
 * pino with redaction: key paths that can hold secrets are censored, and every string value named
 * `url`, `err.message` or `msg` has `usersig=` masked (pino's redact works on key paths, not substrings).
 */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: null,
      redact: {
        paths: [
          'secretKey',
          '*.secretKey',
          'userSig',
          '*.userSig',
          'usersig',
          '*.usersig',
          'headers.authorization',
        ],
        censor: '[Redacted]',
      },
      formatters: {
        log(object) {
          for (const [k, v] of Object.entries(object)) {
            if (typeof v === 'string') object[k] = redactSecrets(v);
          }
          return object;
        },
      },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? redactSecrets(a) : a)) as Parameters<typeof method>,
          );
        },
      },
    },
    options.destination,
  );
}

export type { Logger };
