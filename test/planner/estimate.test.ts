import { describe, expect, it } from 'vitest';
import { emptyCallCounts } from '../../src/planner/calls.js';
import { estimateApply } from '../../src/planner/estimate.js';

const calls = (c: Partial<ReturnType<typeof emptyCallCounts>>) => ({ ...emptyCallCounts(), ...c });

describe('estimateApply', () => {
  it('mirror reads everyone, then writes: the two phases add up', () => {
    const e = estimateApply(
      calls({ get_contact_group: 1000, update_contact_group: 400, del_contact_group: 100 }),
      {
        mode: 'mirror',
        assumeEmpty: false,
        rate: 200,
      },
    );
    expect(e.readSeconds).toBe(5);
    expect(e.writeSeconds).toBe(2);
    expect(e.seconds).toBe(7);
  });

  it('merge reads and writes at once: the busiest endpoint sets the pace', () => {
    const e = estimateApply(calls({ get_contact_group: 1000, update_contact_group: 400 }), {
      mode: 'merge',
      assumeEmpty: false,
      rate: 200,
    });
    expect(e).toMatchObject({ seconds: 5, readSeconds: 0, writeSeconds: 5 });
  });

  it('latency caps the pace at the calls in flight per latency, plus the last answer', () => {
    // 200/s would take 1 s; 60 users in flight at 500 ms manage 120 calls/s: 200 calls take 1.67 s + 0.5 s.
    const e = estimateApply(calls({ create_contact_group: 200 }), {
      mode: 'merge',
      assumeEmpty: true,
      rate: 200,
      latencyMs: 500,
    });
    expect(e.seconds).toBeCloseTo(200 / 120 + 0.5, 9);
    // Short latency: the rate limit is the bound, the latency adds one answer.
    expect(
      estimateApply(calls({ create_contact_group: 200 }), {
        mode: 'merge',
        assumeEmpty: true,
        rate: 200,
        latencyMs: 50,
      }).seconds,
    ).toBeCloseTo(1.05, 9);
    // Mirror's read phase runs 40 users at a time.
    const m = estimateApply(calls({ get_contact_group: 400, del_contact_group: 6 }), {
      mode: 'mirror',
      assumeEmpty: false,
      rate: 1000,
      latencyMs: 100,
      concurrency: 3,
    });
    expect(m.readSeconds).toBeCloseTo((400 * 0.1) / 40 + 0.1, 9);
    expect(m.writeSeconds).toBeCloseTo((6 * 0.1) / 3 + 0.1, 9);
  });

  it("never assumes more calls per second than the plan's reads reached (CPU, network), only less", () => {
    const reads = calls({ get_contact_group: 20_000, update_contact_group: 200 });
    const model = { mode: 'mirror' as const, assumeEmpty: false, rate: 1000, latencyMs: 58 };
    const free = estimateApply(reads, model);
    expect(free.readSeconds).toBeCloseTo((20_000 * 0.058) / 40 + 0.058, 9);
    const slow = estimateApply(reads, { ...model, observedRate: 224 });
    expect(slow.readSeconds).toBeCloseTo(20_000 / 224 + 0.058, 9);
    expect(slow.writeSeconds).toBeCloseTo(Math.max(0.2, (200 * 0.058) / 60, 200 / 224) + 0.058, 9);
    // A machine faster than the model changes nothing.
    expect(estimateApply(reads, { ...model, observedRate: 5000 })).toEqual(free);
    expect(() => estimateApply(reads, { ...model, observedRate: 0 })).toThrow('Expected `observedRate`');
  });

  it('merge: the reads in flight can set the pace; readConcurrency and concurrency are the in-flight caps', () => {
    const reads = calls({ get_contact_group: 4000, update_contact_group: 10 });
    const model = { mode: 'merge' as const, assumeEmpty: false, rate: 1000, latencyMs: 100 };
    // All calls at the rate: 4 s; 40 reads in flight at 100 ms: 10 s + 0.1 s; the writes: 0.11 s.
    expect(estimateApply(reads, model)).toEqual({
      seconds: 10.1,
      readSeconds: 0,
      writeSeconds: 10.1,
      latencyMs: 100,
      concurrency: 60,
    });
    expect(estimateApply(reads, { ...model, readConcurrency: 80 }).seconds).toBeCloseTo(5.1, 9);
    // Writes at 1 in flight: 1 s + 0.1 s; still below the reads.
    expect(estimateApply(reads, { ...model, concurrency: 1 })).toMatchObject({
      seconds: 10.1,
      concurrency: 1,
    });
    // Every call together at the rate, without latency: 4010 calls at an observed 400/s.
    expect(estimateApply(reads, { ...model, latencyMs: 0, observedRate: 400 }).seconds).toBeCloseTo(
      4010 / 400,
      9,
    );
    // With the app taken as empty, mirror does not read first: the merge model (reads and writes at once).
    const empty = estimateApply(calls({ create_contact_group: 100, get_contact_group: 100 }), {
      mode: 'mirror',
      assumeEmpty: true,
      rate: 100,
    });
    expect(empty).toMatchObject({ seconds: 1, readSeconds: 0, writeSeconds: 1 });
  });

  it('refuses options that are not numbers in range', () => {
    const none = emptyCallCounts();
    const model = { mode: 'merge' as const, assumeEmpty: true, rate: 200 };
    expect(() => estimateApply(none, { ...model, rate: Number.NaN })).toThrow(
      'Expected `rate` to be a number above 0, got `NaN`',
    );
    expect(() => estimateApply(none, { ...model, rate: Number.POSITIVE_INFINITY })).toThrow('got `Infinity`');
    expect(() => estimateApply(none, { ...model, rate: -1 })).toThrow('got `-1`');
    expect(() => estimateApply(none, { ...model, latencyMs: Number.POSITIVE_INFINITY })).toThrow(
      'Expected `latencyMs` to be a number from 0 and up, got `Infinity`',
    );
    expect(() => estimateApply(none, { ...model, observedRate: Number.NaN })).toThrow(
      'Expected `observedRate` to be a number above 0, got `NaN`',
    );
    expect(() => estimateApply(none, { ...model, observedRate: -5 })).toThrow('got `-5`');
    // The edges are allowed: no latency, any rate above 0.
    expect(
      estimateApply(calls({ create_contact_group: 1 }), { ...model, rate: 0.5, latencyMs: 0 }).seconds,
    ).toBe(2);
  });

  it('nothing to do takes no time; bad options are refused with what was given', () => {
    expect(
      estimateApply(emptyCallCounts(), { mode: 'mirror', assumeEmpty: false, rate: 200, latencyMs: 80 })
        .seconds,
    ).toBe(0);
    expect(() => estimateApply(emptyCallCounts(), { mode: 'merge', assumeEmpty: true, rate: 0 })).toThrow(
      'Expected `rate` to be a number above 0, got `0`',
    );
    expect(() =>
      estimateApply(emptyCallCounts(), { mode: 'merge', assumeEmpty: true, rate: 200, latencyMs: -1 }),
    ).toThrow('Expected `latencyMs` to be a number from 0 and up, got `-1`');
  });
});
