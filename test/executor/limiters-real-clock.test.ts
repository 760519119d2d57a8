import { describe, expect, it } from 'vitest';
import { SyncError } from '../../src/errors.js';
import { createEndpointLimiters } from '../../src/executor/rate/limiters.js';
import { maxInWindow } from '../helpers/sliding-window.js';

// The limiter on the real clock, kept short. Its own file: it measures time, so it runs in the timing
// project (vitest.config.ts) and stays out of the mutation run (test/mutation/vitest.config.ts), where a
// loaded machine could fail it by chance. The same rules on an injected clock: limiters.test.ts and
// limiters.unit.test.ts.
describe('createEndpointLimiters (real clock, kept short)', { timeout: 5000 }, () => {
  it('never lets more than `rate` calls start in any sliding 1000 ms window', async () => {
    const limiters = createEndpointLimiters({ rate: 200 });
    try {
      const starts: number[] = [];
      const jobs = Array.from({ length: 240 }, () =>
        limiters.schedule('create_contact_group', async () => {
          starts.push(performance.now());
        }),
      );
      await Promise.all(jobs);
      expect(starts).toHaveLength(240);
      expect(maxInWindow(starts, 1000)).toBeLessThanOrEqual(200);
      // Headroom is a few percent, not a halving: 240 starts need well over one second but not two.
      const span = (starts.at(-1) as number) - (starts[0] as number);
      expect(span).toBeGreaterThan(1000);
      expect(span).toBeLessThan(2000);
    } finally {
      await limiters.stop();
    }
  });

  it('reaches a rate above what one Bottleneck limiter runs (about 370 jobs/s): 2,000 calls at 2,000/s', async () => {
    const limiters = createEndpointLimiters({ rate: 2000 });
    try {
      const starts: number[] = [];
      await Promise.all(
        Array.from({ length: 2000 }, () =>
          limiters.schedule('get_contact_group', async () => {
            starts.push(performance.now());
          }),
        ),
      );
      expect(maxInWindow(starts, 1000)).toBeLessThanOrEqual(2000);
      // About 1 s (the window gate's 1,000 per 512.5 ms); one limiter alone would take over 5 s.
      expect((starts.at(-1) as number) - (starts[0] as number)).toBeLessThan(2500);
    } finally {
      await limiters.stop();
    }
  });

  it('gives each endpoint its own budget', async () => {
    const limiters = createEndpointLimiters({ rate: 20, headroom: 1 });
    try {
      const t0 = performance.now();
      const finished: Record<string, number> = {};
      await Promise.all(
        (['create_contact_group', 'update_contact_group', 'get_contact_group'] as const).flatMap((endpoint) =>
          [0, 1, 2].map(() =>
            limiters.schedule(endpoint, async () => {
              finished[endpoint] = performance.now() - t0;
            }),
          ),
        ),
      );
      // Three calls per endpoint at 50 ms spacing take ~100 ms each, in parallel: not ~400 ms in series.
      for (const ms of Object.values(finished)) expect(ms).toBeLessThan(300);
      expect(limiters.stats.of('update_contact_group').calls).toBe(3);
    } finally {
      await limiters.stop();
    }
  });

  it('caps calls in flight per endpoint', async () => {
    const limiters = createEndpointLimiters({ rate: 1000, maxConcurrent: 2 });
    try {
      let inFlight = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 8 }, () =>
          limiters.schedule('del_contact_group', async () => {
            inFlight++;
            most = Math.max(most, inFlight);
            await new Promise((r) => setTimeout(r, 10));
            inFlight--;
          }),
        ),
      );
      expect(most).toBe(2);
    } finally {
      await limiters.stop();
    }
  });

  it('drops a waiting call at once when its signal aborts, without running it', async () => {
    const limiters = createEndpointLimiters({ rate: 1000, maxConcurrent: 1 });
    try {
      let release: () => void = () => {};
      let started: () => void = () => {};
      const firstStarted = new Promise<void>((r) => (started = r));
      const first = limiters.schedule(
        'get_contact_group',
        () =>
          new Promise<string>((r) => {
            release = () => r('first');
            started();
          }),
      );
      await firstStarted;
      const stop = new AbortController();
      let ran = false;
      const second = limiters.schedule(
        'get_contact_group',
        async () => {
          ran = true;
        },
        stop.signal,
      );
      stop.abort(new SyncError('INTERRUPTED', 'stopping'));
      await expect(second).rejects.toMatchObject({ code: 'INTERRUPTED' });
      release();
      expect(await first).toBe('first');
      await new Promise((r) => setTimeout(r, 20));
      expect(ran).toBe(false);
      expect(limiters.stats.of('get_contact_group').calls).toBe(1);
    } finally {
      await limiters.stop();
    }
  });
});
