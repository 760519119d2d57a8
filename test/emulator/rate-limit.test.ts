import { describe, expect, it } from 'vitest';
import { SlidingWindowLimiter } from '../../src/emulator/rate-limit.js';

function limiter(limit: number, windowMs = 1000): { l: SlidingWindowLimiter; at: (t: number) => boolean } {
  let now = 0;
  const l = new SlidingWindowLimiter({ limit, windowMs, now: () => now });
  return {
    l,
    at: (t: number) => {
      now = t;
      return l.tryAcquire();
    },
  };
}

describe('SlidingWindowLimiter', () => {
  it('accepts `limit` calls in a window and refuses the next one', () => {
    const { l, at } = limiter(200);
    const results = Array.from({ length: 300 }, () => at(0));
    expect(results.filter(Boolean)).toHaveLength(200);
    expect(results.slice(0, 200).every(Boolean)).toBe(true);
    expect(l.accepted).toBe(200);
    expect(l.rejected).toBe(100);
    expect(l.maxInWindow).toBe(200);
  });

  it('slides: a call leaves the window exactly windowMs after it was accepted', () => {
    const { at } = limiter(2);
    expect(at(0)).toBe(true);
    expect(at(400)).toBe(true);
    expect(at(999)).toBe(false);
    expect(at(1000)).toBe(true); // the call at 0 left (window is (now - 1000, now])
    expect(at(1300)).toBe(false);
    expect(at(1400)).toBe(true);
  });

  it('does not count refused calls', () => {
    const { at } = limiter(1);
    expect(at(0)).toBe(true);
    for (let t = 100; t < 1000; t += 100) expect(at(t)).toBe(false);
    // Had the refusals counted, the window would still be full.
    expect(at(1000)).toBe(true);
  });

  it('never lets more than `limit` into any window, whatever the arrival pattern', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const { l, at } = limiter(50, 100);
    const accepted: number[] = [];
    let t = 0;
    for (let i = 0; i < 5000; i++) {
      t += rand() < 0.5 ? 0 : rand() * 4;
      if (at(t)) accepted.push(t);
    }
    let max = 0;
    for (let i = 0, j = 0; i < accepted.length; i++) {
      while ((accepted[j] as number) <= (accepted[i] as number) - 100) j++;
      max = Math.max(max, i - j + 1);
    }
    expect(max).toBe(50);
    expect(l.maxInWindow).toBe(max);
    expect(l.accepted).toBe(accepted.length);
  });

  it('reports maxInWindow below the limit when traffic never filled a window', () => {
    const { l, at } = limiter(200);
    for (let i = 0; i < 30; i++) at(i * 100); // 10 per 1000 ms
    expect(l.maxInWindow).toBe(10);
    l.reset();
    expect([l.accepted, l.rejected, l.maxInWindow]).toEqual([0, 0, 0]);
  });

  it('is unlimited with Infinity', () => {
    const { l, at } = limiter(Number.POSITIVE_INFINITY);
    for (let i = 0; i < 1000; i++) at(0);
    expect(l.accepted).toBe(1000);
    expect(l.maxInWindow).toBe(1000);
  });

  it('counts a call at its arrival time when one is given, not when it is looked at', () => {
    let now = 0;
    const l = new SlidingWindowLimiter({ limit: 2, windowMs: 1000, now: () => now });
    expect(l.tryAcquire(0)).toBe(true);
    expect(l.tryAcquire(600)).toBe(true);
    // Looked at late (the process was busy until 1500), but it arrived at 1100: the call at 0 left
    // the window, the one at 600 did not.
    now = 1500;
    expect(l.tryAcquire(1100)).toBe(true);
    expect(l.tryAcquire(1200)).toBe(false);
    expect(l.tryAcquire()).toBe(false); // now = 1500: 600 and 1100 are in (500, 1500]
    now = 1601;
    expect(l.tryAcquire()).toBe(true);
  });

  it("takes an arrival time earlier than the last accepted call as that call's time", () => {
    const l = new SlidingWindowLimiter({ limit: 2, windowMs: 1000, now: () => 0 });
    expect(l.tryAcquire(500)).toBe(true);
    expect(l.tryAcquire(499.999)).toBe(true); // counted at 500: leaves the window with it
    expect(l.tryAcquire(1499)).toBe(false);
    expect(l.tryAcquire(1500)).toBe(true);
    expect(l.maxInWindow).toBe(2);
  });
});
