import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OrderTracker } from '../../src/reader/stage/order-tracker.js';

function grouped(users: readonly string[], maxUsers?: number): boolean {
  const tracker = new OrderTracker(maxUsers);
  for (const user of users) tracker.observe(user);
  return tracker.grouped;
}

/** The truth: each user's rows contiguous. */
function isContiguous(users: readonly string[]): boolean {
  const finished = new Set<string>();
  for (let i = 0; i < users.length; i++) {
    if (i > 0 && users[i] !== users[i - 1]) {
      finished.add(users[i - 1]!);
      if (finished.has(users[i]!)) return false;
    }
  }
  return true;
}

describe('OrderTracker', () => {
  it('accepts sorted and grouped-but-unsorted input, refuses a user that comes back', () => {
    expect(grouped(['a', 'a', 'b', 'c', 'c'])).toBe(true);
    expect(grouped(['user_9', 'user_9', 'user_10', 'user_1'])).toBe(true);
    expect(grouped(['a', 'b', 'a'])).toBe(false);
    expect(grouped(['b', 'a', 'c', 'b'])).toBe(false);
  });

  it('grows its table past the first allocation', () => {
    const users = Array.from({ length: 5000 }, (_, i) => `u${(i * 7919) % 5000}`);
    expect(grouped(users)).toBe(true);
    expect(grouped([...users, 'u0'])).toBe(false);
  });

  it('past its cap, keeps accepting sorted input but gives up on unsorted input', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => `u${String(i).padStart(3, '0')}`);
    expect(grouped(sorted, 10)).toBe(true);
    expect(grouped([...sorted].reverse(), 10)).toBe(false);
    expect(grouped([...sorted].reverse(), 1000)).toBe(true);
  });

  it('matches the definition on random sequences', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'ab', ''), { maxLength: 30 }),
        (users) => {
          expect(grouped(users)).toBe(isContiguous(users));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
