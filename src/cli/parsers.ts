import { InvalidArgumentError } from 'commander';
import { isSyncError } from '../errors.js';
import { MAX_RATE } from '../model.js';
import { parseShard } from '../planner/shard.js';
import { parseMaxDelete } from '../sync/guard.js';

export { parseDuration } from './duration.js';

/** Option parsers with messages that say what was expected and what was given. */
export function positiveInt(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) {
      throw new InvalidArgumentError(`Expected ${name} to be a whole number from 1 and up, got "${value}"`);
    }
    return n;
  };
}

export function nonNegativeInt(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
      throw new InvalidArgumentError(`Expected ${name} to be a whole number from 0 and up, got "${value}"`);
    }
    return n;
  };
}

export function intInRange(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(
        `Expected ${name} to be a whole number from ${min} to ${max}, got "${value}"`,
      );
    }
    return n;
  };
}

export function nonNegative(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
      throw new InvalidArgumentError(`Expected ${name} to be a number >= 0, got "${value}"`);
    }
    return n;
  };
}

/** `--rate`: calls per second per endpoint, above 0 and at most {@link MAX_RATE}. */
export function rateOption(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > MAX_RATE) {
      throw new InvalidArgumentError(
        `Expected ${name} to be a number of calls per second above 0 and at most ${MAX_RATE}, got "${value}"`,
      );
    }
    return n;
  };
}

export function probability(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !(n >= 0 && n <= 1)) {
      throw new InvalidArgumentError(`Expected ${name} to be a probability from 0 to 1, got "${value}"`);
    }
    return n;
  };
}

/** Wraps a parser that throws SyncError('USAGE') so commander reports it as an option error. */
function asOption<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (err) {
      if (isSyncError(err)) throw new InvalidArgumentError(err.message);
      throw err;
    }
  };
}

export const maxDeleteOption = asOption(parseMaxDelete);
export const shardOption = asOption(parseShard);

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * `--fault-mix` and `--item-fault-mix`: ErrorCode:probability pairs, comma separated, such as
 * `51007:0.01,50001:0.002`.
 */
export function faultMix(name: string): (value: string) => Record<number, number> {
  return (value) => {
    const out: Record<number, number> = {};
    for (const part of value.split(',')) {
      const m = /^\s*(\d{1,10}):(\d*\.?\d+(?:e-?\d+)?)\s*$/i.exec(part);
      const rate = m === null ? Number.NaN : Number(m[2]);
      if (m === null || !(rate >= 0 && rate <= 1)) {
        throw new InvalidArgumentError(
          `Expected ${name} to be ErrorCode:probability pairs such as 51007:0.01,50001:0.002, got "${part}"`,
        );
      }
      out[Number(m[1])] = rate;
    }
    return out;
  };
}
