import { hash } from 'node:crypto';
import { compareCodeUnits } from '../model.js';

/** A JSON value: what plan files, digests and operation ids are built from. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/**
 * JSON with object keys sorted by code unit and no whitespace, so equal values always give equal
 * bytes (and equal digests) whatever order their keys were built in. Keys whose value is `undefined`
 * are left out, as `JSON.stringify` does.
 */
export function canonicalJson(value: JsonValue | undefined): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new TypeError(`Expected a finite number in canonical JSON, got ${value}`);
    }
    return JSON.stringify(value) ?? 'null';
  }
  if (isJsonArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const keys = Object.keys(value).sort(compareCodeUnits);
  const parts: string[] = [];
  for (const key of keys) {
    const v = value[key];
    if (v !== undefined) parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

function isJsonArray(value: JsonValue): value is readonly JsonValue[] {
  return Array.isArray(value);
}

/** Code-unit order (src/model.ts), for the planner's callers. */
export { compareCodeUnits };

/**
 * Lower-case hex sha256 of a string's UTF-8 bytes. The one-shot `crypto.hash` (Node 20.12+) costs
 * half of `createHash().update().digest()` on the short inputs of operation ids and user digests.
 */
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}
