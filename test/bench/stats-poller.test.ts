import { describe, expect, it } from 'vitest';
import { busyRate, runPhases, type StatsSample } from '../../bench/lib/stats-poller.js';
import { ENDPOINTS, type Endpoint } from '../../src/tencent/wire.js';

function sample(t: number, creates: number): StatsSample {
  const accepted = {} as Record<Endpoint, number>;
  for (const e of ENDPOINTS) accepted[e] = 0;
  accepted.create_contact_group = creates;
  return { t, accepted };
}

describe('busyRate', () => {
  it('measures between the first sample that saw a call and the last one before the final count', () => {
    // Idle (scan) for 2 s, then 200 calls/s for 3 s, then idle: 600 calls in all.
    const samples = [0, 1000, 2000, 2100, 2600, 3600, 4600, 5000, 5100, 6000].map((t) =>
      sample(t, Math.max(0, Math.min(600, Math.round(((t - 2000) / 1000) * 200)))),
    );
    const busy = busyRate(samples, 'create_contact_group');
    expect(busy.accepted).toBe(600);
    // First seen at 2100 (20 calls), final count first seen at 5000, so the stretch ends at 4600 (520 calls).
    expect(busy.seconds).toBeCloseTo(2.5, 6);
    expect(busy.rate).toBeCloseTo(200, 6);
  });

  it('is zero for an endpoint that stayed idle or was seen in one sample only', () => {
    expect(busyRate([sample(0, 0), sample(100, 0)], 'update_contact_group')).toEqual({
      accepted: 0,
      seconds: 0,
      rate: 0,
    });
    expect(busyRate([sample(0, 0), sample(100, 50), sample(200, 50)], 'create_contact_group').rate).toBe(0);
  });
});

describe('runPhases', () => {
  it("finds the first call, the busiest endpoint's last call and its calls per second", () => {
    const samples = [0, 500, 1000, 1500, 2000, 2500, 3000, 3500].map((t) =>
      sample(t, Math.max(0, Math.min(500, Math.round(((t - 700) / 1000) * 200)))),
    );
    const phases = runPhases(samples, -100, 'create_contact_group');
    expect(phases.firstCallMs).toBe(1100);
    expect(phases.busiestDoneMs).toBe(3600);
    expect(phases.lastCallMs).toBe(3600);
    expect(phases.busiestPerSecond).toEqual([260, 200, 40]);
    expect(runPhases([], 0, 'create_contact_group').firstCallMs).toBeUndefined();
  });
});
