import { describe, expect, it } from 'vitest';
import { mapConcurrent } from '../../src/sync/map-concurrent.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mapConcurrent', () => {
  it('maps every item, never more than `concurrency` at once, pulling lazily', async () => {
    let active = 0;
    let peak = 0;
    let pulled = 0;
    async function* source() {
      for (let i = 0; i < 50; i++) {
        pulled++;
        expect(pulled - finished).toBeLessThanOrEqual(4);
        yield i;
      }
    }
    let finished = 0;
    const out: number[] = [];
    for await (const v of mapConcurrent(source(), 4, async (i) => {
      active++;
      peak = Math.max(peak, active);
      await tick(i % 3);
      active--;
      finished++;
      return i * 2;
    })) {
      out.push(v);
    }
    expect(out.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
    expect(peak).toBe(4);
  });

  it('rethrows the first failure after in-flight calls settle', async () => {
    let settled = 0;
    const run = async () => {
      for await (const _ of mapConcurrent([1, 2, 3, 4], 3, async (i) => {
        await tick(i);
        settled++;
        if (i === 1) throw new Error('boom');
        return i;
      })) {
        // consume
      }
    };
    await expect(run()).rejects.toThrow('boom');
    expect(settled).toBe(3);
  });

  it('validates concurrency', async () => {
    await expect(mapConcurrent([1], 0, async (x) => x).next()).rejects.toThrow('from 1 and up, got `0`');
  });
});
