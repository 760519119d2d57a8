/** Small checks shared by the emulator's option validation, in the style of p-queue's messages. */

/** `got \`value\` (type)` for a message. */
export function got(value: unknown): string {
  const shown =
    typeof value === 'string' ? value : Array.isArray(value) ? JSON.stringify(value) : String(value);
  return `got \`${shown}\` (${typeof value})`;
}

/**
 * Validates a code → probability map (`faultMix`, `itemFaultMix`): integer codes from 1, rates from 0
 * to 1. Returns a copy with the codes in ascending order (the order faults are drawn in).
 */
export function codeRates(
  name: string,
  value: unknown,
  problems: string[],
): Readonly<Record<number, number>> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`Expected \`${name}\` to be an object of ErrorCode → probability, ${got(value)}`);
    return {};
  }
  const out: Record<number, number> = {};
  for (const [key, rate] of Object.entries(value as Record<string, unknown>)) {
    const code = Number(key);
    if (!/^\d{1,10}$/.test(key) || !Number.isSafeInteger(code) || code < 1) {
      problems.push(`Expected the keys of \`${name}\` to be ErrorCodes (integers from 1), got \`${key}\``);
    } else if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) {
      problems.push(`Expected \`${name}[${key}]\` to be a number from 0 to 1, ${got(rate)}`);
    } else if (rate > 0) {
      out[code] = rate;
    }
  }
  return out;
}

export function sumOf(rates: Readonly<Record<number, number>>): number {
  return Object.values(rates).reduce((a, b) => a + b, 0);
}
