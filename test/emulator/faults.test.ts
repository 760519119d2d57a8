import { describe, expect, it } from 'vitest';
import { FaultInjector, mulberry32 } from '../../src/emulator/faults.js';

const base = { faultRate: 0, http502Rate: 0, lostRate: 0, latencyMs: 0, jitterMs: 0 };

describe('mulberry32', () => {
  it('is reproducible per seed and differs across seeds', () => {
    const a = mulberry32(1);
    const b = mulberry32(1);
    const c = mulberry32(2);
    const sa = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(sa);
    expect(Array.from({ length: 5 }, c)).not.toEqual(sa);
    for (const v of sa) expect(v >= 0 && v < 1).toBe(true);
  });
});

describe('FaultInjector', () => {
  const opts = {
    ...base,
    seed: 42,
    faultRate: 0.2,
    http502Rate: 0.1,
    lostRate: 0.1,
    latencyMs: 50,
    jitterMs: 20,
  };

  it('gives the same decisions for the same seed, and restarts on reset', () => {
    const a = new FaultInjector(opts);
    const b = new FaultInjector(opts);
    const seqA = Array.from({ length: 200 }, () => a.decide(true));
    expect(Array.from({ length: 200 }, () => b.decide(true))).toEqual(seqA);
    a.reset();
    expect(Array.from({ length: 200 }, () => a.decide(true))).toEqual(seqA);
    const other = new FaultInjector({ ...opts, seed: 43 });
    expect(Array.from({ length: 200 }, () => other.decide(true))).not.toEqual(seqA);
  });

  it('draws each kind at roughly its rate, and delays within latency ± jitter', () => {
    const f = new FaultInjector(opts);
    const n = 20_000;
    const counts = { none: 0, transient: 0, http502: 0, lost: 0 };
    const codes = new Set<number>();
    for (let i = 0; i < n; i++) {
      const d = f.decide(true);
      counts[d.kind]++;
      if (d.kind === 'transient') codes.add(d.errorCode);
      expect(d.delayMs >= 30 && d.delayMs <= 70).toBe(true);
    }
    expect(counts.http502 / n).toBeCloseTo(0.1, 1);
    expect(counts.transient / n).toBeCloseTo(0.2, 1);
    expect(counts.lost / n).toBeCloseTo(0.1, 1);
    expect([...codes].sort()).toEqual([50004, 50005]);
  });

  it('injects nothing where faults do not apply, without shifting the sequence', () => {
    const a = new FaultInjector(opts);
    const b = new FaultInjector(opts);
    for (let i = 0; i < 50; i++) expect(a.decide(false).kind).toBe('none');
    for (let i = 0; i < 50; i++) b.decide(true);
    expect(a.decide(true)).toEqual(b.decide(true));
  });

  it('never faults with zero rates and never delays with zero latency', () => {
    const f = new FaultInjector({ ...base, seed: 1 });
    for (let i = 0; i < 1000; i++) expect(f.decide(true)).toEqual({ kind: 'none', delayMs: 0 });
  });
});
