import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { LatencyMeter } from '../../src/sync/latency-meter.js';

describe('LatencyMeter', () => {
  it('times each read from the call to the answer and gives the median', async () => {
    const waits = [5, 60, 60];
    const meter = new LatencyMeter({
      getGroupsPage: async () => {
        await delay(waits.shift() ?? 0);
        return { groups: [], conversations: [], complete: true, nextStartIndex: 0 };
      },
    });
    expect(meter.median()).toBeUndefined();
    for (let i = 0; i < 3; i++) await meter.getGroupsPage('u', 0);
    expect(meter.samples).toBe(3);
    // One fast read does not pull the median down: the two slow ones set it.
    expect(meter.median()).toBeGreaterThanOrEqual(55);
    expect(meter.median()).toBeLessThan(1000);
  });

  it('gives the reads per second reached once there are 100 over a second, not before', async () => {
    const meter = new LatencyMeter({
      getGroupsPage: async () => {
        await delay(50);
        return { groups: [], conversations: [], complete: true, nextStartIndex: 0 };
      },
    });
    // 10 at a time, 50 ms each: at most 200 reads/s; 50 reads in 0.25 s are too few, 250 in 1.25 s enough.
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 10 }, () => meter.getGroupsPage('u', 0)));
    }
    expect(meter.throughput()).toBeUndefined();
    for (let round = 0; round < 20; round++) {
      await Promise.all(Array.from({ length: 10 }, () => meter.getGroupsPage('u', 0)));
    }
    const reached = meter.throughput() as number;
    expect(reached).toBeGreaterThan(0);
    expect(reached).toBeLessThanOrEqual(200);
  });

  it('a read that fails is not a sample', async () => {
    const meter = new LatencyMeter({
      getGroupsPage: async () => {
        throw new Error('refused');
      },
    });
    await expect(meter.getGroupsPage('u', 0)).rejects.toThrow('refused');
    expect(meter.samples).toBe(0);
  });
});
