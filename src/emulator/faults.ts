/** mulberry32: a small, fast, seeded PRNG. Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export type FaultKind = 'transient' | 'http502' | 'lost';

/** What happens to one accepted call. `delayMs` is waited before answering (or before dropping). */
export type FaultDecision =
  | { readonly kind: 'none'; readonly delayMs: number }
  | { readonly kind: 'transient'; readonly errorCode: 50004 | 50005; readonly delayMs: number }
  | { readonly kind: 'http502'; readonly delayMs: number }
  | { readonly kind: 'lost'; readonly delayMs: number };

export interface FaultOptions {
  readonly seed: number;
  readonly faultRate: number;
  readonly http502Rate: number;
  readonly lostRate: number;
  readonly latencyMs: number;
  readonly jitterMs: number;
}

/**
 * Draws the fate of each accepted call from one seeded sequence: the same seed and the same order of
 * calls give the same faults. Every call consumes exactly three draws (kind, transient code, delay),
 * whether or not faults apply to its endpoint, so switching an endpoint off does not shift the others.
 * The three fault kinds are exclusive: one draw `u` picks http502 if `u < http502Rate`, transient if
 * below `http502Rate + faultRate`, lost if below that plus `lostRate`.
 */
export class FaultInjector {
  readonly #options: FaultOptions;
  #random: () => number;

  constructor(options: FaultOptions) {
    this.#options = options;
    this.#random = mulberry32(options.seed);
  }

  decide(faultsApply: boolean): FaultDecision {
    const o = this.#options;
    const u = this.#random();
    const code = this.#random() < 0.5 ? 50004 : 50005;
    const delayMs = Math.max(0, o.latencyMs + (2 * this.#random() - 1) * o.jitterMs);
    if (!faultsApply) return { kind: 'none', delayMs };
    if (u < o.http502Rate) return { kind: 'http502', delayMs };
    if (u < o.http502Rate + o.faultRate) return { kind: 'transient', errorCode: code, delayMs };
    if (u < o.http502Rate + o.faultRate + o.lostRate) return { kind: 'lost', delayMs };
    return { kind: 'none', delayMs };
  }

  /** Starts the sequence again from the seed. */
  reset(): void {
    this.#random = mulberry32(this.#options.seed);
  }
}
