import { describe, expect, it } from 'vitest';
import { SlidingWindowGate } from '../../src/executor/rate/window-gate.js';
import { FakeClock } from './helpers.js';

describe('SlidingWindowGate restamp', () => {
  it('counts a call from when it left: the call that reuses its slot waits that much longer', async () => {
    const clock = new FakeClock();
    const gate = new SlidingWindowGate({ limit: 2, windowMs: 1000, clock });
    const t0 = clock.time;
    const first = await gate.acquireSlot('create_contact_group');
    await gate.acquireSlot('create_contact_group');
    // The first call was held up 40 ms between its release and its send.
    clock.time += 40;
    first();
    await gate.acquireSlot('create_contact_group');
    expect(clock.time).toBe(t0 + 1040);
  });

  it('never moves a start earlier, and does nothing once the slot was reused', async () => {
    const clock = new FakeClock();
    const gate = new SlidingWindowGate({ limit: 1, windowMs: 1000, clock });
    const t0 = clock.time;
    const first = await gate.acquireSlot('update_contact_group');
    await gate.acquireSlot('update_contact_group'); // reuses the only slot at t0 + 1000
    expect(clock.time).toBe(t0 + 1000);
    clock.time += 500;
    first(); // stale: must not touch the slot the second call holds
    await gate.acquireSlot('update_contact_group');
    expect(clock.time).toBe(t0 + 2000);
  });
});
