import { afterEach, describe, expect, it } from 'vitest';
import { installVirtualTime, type VirtualTime } from './virtual-time.js';

let time: VirtualTime | undefined;
afterEach(() => {
  time?.uninstall();
  time = undefined;
});

describe('virtual time (the rate-cap tests run on it)', () => {
  it('fires timers in time order, at their time, as Date.now() sees it; clears work', async () => {
    time = installVirtualTime(1000);
    const fired: [string, number][] = [];
    setTimeout(() => fired.push(['b', Date.now()]), 20);
    setTimeout(() => fired.push(['a', Date.now()]), 10);
    const cleared = setTimeout(() => fired.push(['never', Date.now()]), 15);
    clearTimeout(cleared);
    setTimeout(() => fired.push(['zero is 1 ms', Date.now()]), 0);
    await time.runUntil(1015);
    expect(fired).toEqual([
      ['zero is 1 ms', 1001],
      ['a', 1010],
    ]);
    expect(Date.now()).toBe(1015);
    await time.runUntil(1100);
    expect(fired.at(-1)).toEqual(['b', 1020]);
  });

  it('a stall fires nothing; the timers due meanwhile then fire late, together, in order', async () => {
    time = installVirtualTime(0);
    const fired: [number, number][] = [];
    for (let i = 1; i <= 5; i++) setTimeout(() => fired.push([i, Date.now()]), i * 10);
    await time.runUntil(15);
    time.stall(30);
    expect(fired).toEqual([[1, 10]]);
    await time.runUntil(45);
    expect(fired).toEqual([
      [1, 10],
      [2, 45],
      [3, 45],
      [4, 45],
    ]);
    await time.runUntil(60);
    expect(fired.at(-1)).toEqual([5, 50]);
  });

  it('puts the real clock back', () => {
    const virtual = installVirtualTime(5);
    virtual.uninstall();
    expect(Math.abs(Date.now() - performance.timeOrigin - performance.now())).toBeLessThan(1000);
  });
});
