/**
 * Small narrowing helpers for untrusted JSON (`unknown` in, typed out). Each throws a
 * {@link ShapeError} naming the path of the bad value, what was expected and what was given.
 */
export class ShapeError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(path === '' ? problem : `${path}: ${problem}`);
    this.name = 'ShapeError';
  }
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return `${String(v)} (${typeof v})`;
}

export function asRecord(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ShapeError(path, `expected an object, got ${describeValue(v)}`);
  }
  return v as Record<string, unknown>;
}

export function asArray(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new ShapeError(path, `expected an array, got ${describeValue(v)}`);
  return v;
}

export function asString(
  v: unknown,
  path: string,
  options: { nonEmpty?: boolean; pattern?: RegExp } = {},
): string {
  if (typeof v !== 'string') throw new ShapeError(path, `expected a string, got ${describeValue(v)}`);
  if (options.nonEmpty === true && v === '') throw new ShapeError(path, 'expected a non-empty string');
  if (options.pattern !== undefined && !options.pattern.test(v)) {
    throw new ShapeError(path, `expected a string matching ${options.pattern}, got ${describeValue(v)}`);
  }
  return v;
}

export function asBoolean(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new ShapeError(path, `expected true or false, got ${describeValue(v)}`);
  return v;
}

export function asCount(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new ShapeError(path, `expected a whole number from 0 and up, got ${describeValue(v)}`);
  }
  return v;
}

export function asPositiveNumber(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ShapeError(path, `expected a number above 0, got ${describeValue(v)}`);
  }
  return v;
}

export function asNonNegativeNumber(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new ShapeError(path, `expected a number from 0 and up, got ${describeValue(v)}`);
  }
  return v;
}

export function asOneOf<const T extends string>(v: unknown, path: string, options: readonly T[]): T {
  if (typeof v === 'string' && (options as readonly string[]).includes(v)) return v as T;
  const list = options.map((o) => JSON.stringify(o)).join(', ');
  throw new ShapeError(path, `expected one of ${list}, got ${describeValue(v)}`);
}

/** Narrows every element of an array with `item`, passing `path[i]`. */
export function asArrayOf<T>(v: unknown, path: string, item: (x: unknown, path: string) => T): T[] {
  return asArray(v, path).map((x, i) => item(x, `${path}[${i}]`));
}
