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
    const counts = { none: 0, transient: 0, http502: 0, lost: 0, applied: 0, malformed: 0, mix: 0 };
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

  it('draws the newer kinds after the older ones: with their rates at 0, the old sequence is unchanged', () => {
    const old = new FaultInjector(opts);
    const withNew = new FaultInjector({ ...opts, appliedFaultRate: 0, malformedRate: 0, faultMix: {} });
    for (let i = 0; i < 500; i++) expect(withNew.decide(true)).toEqual(old.decide(true));
  });

  it('draws applied faults, malformed answers of every variant and the fault mix at their rates', () => {
    const f = new FaultInjector({
      ...base,
      seed: 9,
      appliedFaultRate: 0.1,
      malformedRate: 0.2,
      faultMix: { 51007: 0.1, 50001: 0.05 },
    });
    const n = 20_000;
    const kinds = new Map<string, number>();
    const answers = new Set<unknown>();
    const variants = new Set<string>();
    const mixCodes = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const d = f.decide(true);
      kinds.set(d.kind, (kinds.get(d.kind) ?? 0) + 1);
      if (d.kind === 'applied') answers.add(d.answer);
      if (d.kind === 'malformed') variants.add(d.variant);
      if (d.kind === 'mix') mixCodes.set(d.errorCode, (mixCodes.get(d.errorCode) ?? 0) + 1);
    }
    expect((kinds.get('applied') ?? 0) / n).toBeCloseTo(0.1, 1);
    expect((kinds.get('malformed') ?? 0) / n).toBeCloseTo(0.2, 1);
    expect((mixCodes.get(51007) ?? 0) / n).toBeCloseTo(0.1, 1);
    expect((mixCodes.get(50001) ?? 0) / n).toBeCloseTo(0.05, 1);
    expect([...answers].sort()).toEqual([50004, 'http502']);
    expect([...variants].sort()).toEqual(['empty', 'html', 'string-code', 'truncated']);
  });

  it('draws item faults from their own sequence: transient ones half applied, mix ones never', () => {
    const f = new FaultInjector({ ...base, seed: 3, itemFaultRate: 0.2, itemFaultMix: { 51007: 0.1 } });
    const plain = new FaultInjector({ ...base, seed: 3, faultRate: 0.2 });
    const g = new FaultInjector({ ...base, seed: 3, faultRate: 0.2, itemFaultRate: 0.2 });
    const n = 20_000;
    let transient = 0;
    let applied = 0;
    let mix = 0;
    for (let i = 0; i < n; i++) {
      const d = f.decideItem();
      if (d === undefined) continue;
      if (d.resultCode === 51007) {
        mix++;
        expect(d.applied).toBe(false);
      } else {
        expect([50004, 50005]).toContain(d.resultCode);
        transient++;
        if (d.applied) applied++;
      }
      // Item draws do not move the call sequence.
      g.decideItem();
      expect(g.decide(true)).toEqual(plain.decide(true));
    }
    expect(transient / n).toBeCloseTo(0.2, 1);
    expect(mix / n).toBeCloseTo(0.1, 1);
    expect(applied / transient).toBeCloseTo(0.5, 1);
    expect(new FaultInjector({ ...base, seed: 3 }).decideItem()).toBeUndefined();
  });
});
