import { SyncError } from '../errors.js';

/** `--max-delete N` (memberships) or `--max-delete P%` (of the memberships the run looks at). */
export type MaxDelete =
  | { readonly kind: 'count'; readonly value: number }
  | { readonly kind: 'percent'; readonly value: number };

/** @default 10% */
export const DEFAULT_MAX_DELETE: MaxDelete = { kind: 'percent', value: 10 };

export function parseMaxDelete(text: string): MaxDelete {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  if (percent !== null) {
    const value = Number(percent[1]);
    if (value <= 100) return { kind: 'percent', value };
  }
  if (/^\d+$/.test(text.trim())) return { kind: 'count', value: Number(text.trim()) };
  throw new SyncError(
    'USAGE',
    `Expected --max-delete to be a count such as 500 or a percentage such as 10%, got "${text}"`,
    {
      value: text,
    },
  );
}

export function formatMaxDelete(limit: MaxDelete): string {
  return limit.kind === 'percent' ? `${limit.value}%` : String(limit.value);
}

export interface GuardVerdict {
  readonly ok: boolean;
  /** Memberships the plan removes, members of deleted groups included. */
  readonly removed: number;
  /** Memberships the run looked at (the app's memberships of the planned users). */
  readonly examined: number;
  /** Removals allowed. */
  readonly allowed: number;
  readonly message: string;
}

/**
 * The mirror-mode deletion guard, decided after planning every user and before the first write.
 * Percentages are of the memberships the run looked at; removing nothing always passes.
 */
export function checkDeleteGuard(limit: MaxDelete, removed: number, examined: number): GuardVerdict {
  const allowed = limit.kind === 'count' ? limit.value : Math.floor((examined * limit.value) / 100);
  const ok = removed <= allowed;
  const share = examined === 0 ? 0 : (removed / examined) * 100;
  const message = ok
    ? `deletion guard: ${removed} of ${examined} memberships to remove (${share.toFixed(1)}%), allowed ${allowed} (--max-delete ${formatMaxDelete(limit)})`
    : `deletion guard refused the run: it would remove ${removed} of ${examined} memberships (${share.toFixed(1)}%), more than the ${allowed} allowed by --max-delete ${formatMaxDelete(limit)}; nothing was changed. Check the export, or raise --max-delete if this is intended.`;
  return { ok, removed, examined, allowed, message };
}
