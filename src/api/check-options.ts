import { SyncError } from '../errors.js';
import { LIMITS, MAX_RATE } from '../model.js';
import { parseShard, type Shard } from '../planner/shard.js';
import { type MaxDelete, parseMaxDelete } from '../sync/guard.js';

/** One option's rule: what it must be (for the message) and the test. */
export interface OptionRule {
  /** `a path (a non-empty string)`: read after `Expected \`name\` to be`. */
  readonly expected: string;
  readonly test: (value: unknown) => boolean;
  readonly required?: boolean;
  /** Its value is never shown in a message (a key). */
  readonly secret?: boolean;
}

/** `got \`value\` (type)`, p-queue's way; a secret shows its type only. */
function got(value: unknown, secret: boolean): string {
  if (secret) return `got a ${typeof value}`;
  const shown =
    typeof value === 'string'
      ? JSON.stringify(value)
      : typeof value === 'function'
        ? 'a function'
        : Array.isArray(value) ||
            (typeof value === 'object' && value !== null && value.constructor === Object)
          ? safeJson(value)
          : String(value);
  return `got \`${shown}\` (${Array.isArray(value) ? 'array' : typeof value})`;
}

function safeJson(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(value);
  }
}

/**
 * Validates an options object eagerly, before any work: every problem at once, each naming the
 * option, what it must be and what was given (never a secret's value); an option that is not known
 * is refused (a typo would otherwise be a default silently used). Throws `SyncError('USAGE')`.
 */
export function checkOptions<T>(
  fn: string,
  options: unknown,
  rules: { readonly [K in keyof T]-?: OptionRule },
): asserts options is T {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new SyncError('USAGE', `${fn}(): Expected the options to be an object, ${got(options, false)}`);
  }
  const problems: string[] = [];
  const known = rules as Readonly<Record<string, OptionRule>>;
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(known, key)) {
      problems.push(`unknown option \`${key}\` (known: ${Object.keys(known).join(', ')})`);
    }
  }
  for (const [name, rule] of Object.entries(known)) {
    const value = (options as Record<string, unknown>)[name];
    if (value === undefined) {
      if (rule.required === true) problems.push(`Expected \`${name}\` to be ${rule.expected}, got nothing`);
    } else if (!rule.test(value)) {
      problems.push(`Expected \`${name}\` to be ${rule.expected}, ${got(value, rule.secret === true)}`);
    }
  }
  if (problems.length > 0) throw new SyncError('USAGE', `${fn}(): ${problems.join('; ')}`);
}

/** The rules options share. */
export const is = {
  text: (required = false): OptionRule => ({
    expected: 'a non-empty string',
    test: (v) => typeof v === 'string' && v !== '',
    required,
  }),
  path: (required = false): OptionRule => ({
    expected: 'a path (a non-empty string)',
    test: (v) => typeof v === 'string' && v !== '' && !v.includes('\0'),
    required,
  }),
  paths: (): OptionRule => ({
    expected: 'an array of paths',
    test: (v) => Array.isArray(v) && v.every((p) => typeof p === 'string' && p !== ''),
  }),
  boolean: (): OptionRule => ({ expected: 'a boolean', test: (v) => typeof v === 'boolean' }),
  integer: (min: number, max: number, required = false): OptionRule => ({
    expected: `an integer from ${min} to ${max}`,
    test: (v) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max,
    required,
  }),
  number: (min: number, max: number): OptionRule => ({
    expected: `a number from ${min} to ${max}`,
    test: (v) => typeof v === 'number' && v >= min && v <= max,
  }),
  rate: (): OptionRule => ({
    expected: `a number of calls per second above 0 and at most ${MAX_RATE}`,
    test: (v) => typeof v === 'number' && v > 0 && v <= MAX_RATE,
  }),
  oneOf: (values: readonly string[]): OptionRule => ({
    expected: `one of ${values.map((v) => `'${v}'`).join(', ')}`,
    test: (v) => typeof v === 'string' && values.includes(v),
  }),
  fn: (): OptionRule => ({ expected: 'a function', test: (v) => typeof v === 'function' }),
  signal: (): OptionRule => ({ expected: 'an AbortSignal', test: (v) => v instanceof AbortSignal }),
  shard: (): OptionRule => ({
    expected: "a shard: `{ index, count }` with 0 <= index < count, or 'i/n'",
    test: (v) => toShard(v) !== undefined,
  }),
  maxDelete: (): OptionRule => ({
    expected: "a count of memberships (an integer from 0) or a percentage such as '10%'",
    test: (v) => toMaxDelete(v) !== undefined,
  }),
} as const;

/**
 * The rules of the options every job that reads a CSV shares, with the ranges of the CLI's flags
 * (`--group-name-limit` 1-64): one place, so `plan` cannot accept what `apply` then refuses.
 */
export const CSV_JOB_RULES = {
  input: is.path(true),
  mode: is.oneOf(['merge', 'mirror']),
  shard: is.shard(),
  groupNameLimit: is.integer(1, LIMITS.groupNameBytesCreate),
  signal: is.signal(),
  onProgress: is.fn(),
} as const;

/** The rules of the rejected-row limits of the jobs that scan a CSV to write from it. */
export const ROW_LIMIT_RULES = {
  strict: is.boolean(),
  maxInvalid: is.integer(0, Number.MAX_SAFE_INTEGER),
} as const;

/** A shard option as a {@link Shard}; undefined when it is not one. */
export function toShard(value: unknown): Shard | undefined {
  if (typeof value === 'string') {
    try {
      return parseShard(value);
    } catch {
      return undefined;
    }
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { index, count } = value as { index?: unknown; count?: unknown };
  if (typeof index !== 'number' || typeof count !== 'number') return undefined;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count)) return undefined;
  return index >= 0 && count >= 1 && index < count ? { index, count } : undefined;
}

/** A maxDelete option as a {@link MaxDelete}; undefined when it is not one. */
export function toMaxDelete(value: unknown): MaxDelete | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? { kind: 'count', value } : undefined;
  }
  if (typeof value !== 'string') return undefined;
  try {
    return parseMaxDelete(value);
  } catch {
    return undefined;
  }
}
