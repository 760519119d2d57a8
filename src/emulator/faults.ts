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

export type FaultKind = 'transient' | 'http502' | 'lost' | 'applied' | 'malformed' | 'mix';

/** The ways a malformed answer (HTTP 200, not the documented shape) looks; see `malformedRate`. */
export type MalformedVariant = 'html' | 'empty' | 'truncated' | 'string-code';

const MALFORMED_VARIANTS: readonly MalformedVariant[] = ['html', 'empty', 'truncated', 'string-code'];

/** Whether the call was applied before a malformed answer of this variant was sent. */
export function malformedApplies(variant: MalformedVariant): boolean {
  return variant === 'truncated' || variant === 'string-code';
}

/** What happens to one accepted call. `delayMs` is waited before answering (or before dropping). */
export type FaultDecision =
  | { readonly kind: 'none'; readonly delayMs: number }
  | { readonly kind: 'transient'; readonly errorCode: 50004 | 50005; readonly delayMs: number }
  | { readonly kind: 'http502'; readonly delayMs: number }
  | { readonly kind: 'lost'; readonly delayMs: number }
  /** Applied, then answered with `answer`. */
  | { readonly kind: 'applied'; readonly answer: 50004 | 'http502'; readonly delayMs: number }
  | { readonly kind: 'malformed'; readonly variant: MalformedVariant; readonly delayMs: number }
  /** Answered with `errorCode` from the fault mix, not applied. */
  | { readonly kind: 'mix'; readonly errorCode: number; readonly delayMs: number };

export interface FaultOptions {
  readonly seed: number;
  readonly faultRate: number;
  readonly http502Rate: number;
  readonly lostRate: number;
  readonly appliedFaultRate?: number;
  readonly malformedRate?: number;
  readonly faultMix?: Readonly<Record<number, number>>;
  readonly itemFaultRate?: number;
  readonly itemFaultMix?: Readonly<Record<number, number>>;
  readonly latencyMs: number;
  readonly jitterMs: number;
}

/** The fate of one item of a create or update: a ResultCode, and whether it was applied anyway. */
export interface ItemFault {
  readonly resultCode: number;
  readonly applied: boolean;
}

/**
 * Draws the fate of each accepted call from one seeded sequence: the same seed and the same order of
 * calls give the same faults. Every call consumes exactly three draws (kind, sub-choice, delay),
 * whether or not faults apply to its endpoint, so switching an endpoint off does not shift the others.
 * The kinds are exclusive: one draw `u` is read against the cumulative rates in the order http502,
 * transient, lost, applied, malformed, then the fault mix by ascending code (with the newer rates at
 * 0, the draws of earlier versions are unchanged). The second draw picks 50004/50005, 50004/HTTP 502
 * or the malformed variant.
 *
 * Item faults come from a second sequence (seeded from the same seed), one draw per item, so they
 * never shift the call faults.
 */
export class FaultInjector {
  readonly #options: FaultOptions;
  readonly #mix: readonly [number, number][];
  readonly #itemMix: readonly [number, number][];
  #random: () => number;
  #itemRandom: () => number;

  constructor(options: FaultOptions) {
    this.#options = options;
    this.#mix = sortedRates(options.faultMix);
    this.#itemMix = sortedRates(options.itemFaultMix);
    this.#random = mulberry32(options.seed);
    this.#itemRandom = mulberry32(itemSeed(options.seed));
  }

  decide(faultsApply: boolean): FaultDecision {
    const o = this.#options;
    const u = this.#random();
    const v = this.#random();
    const delayMs = Math.max(0, o.latencyMs + (2 * this.#random() - 1) * o.jitterMs);
    if (!faultsApply) return { kind: 'none', delayMs };
    let edge = o.http502Rate;
    if (u < edge) return { kind: 'http502', delayMs };
    edge += o.faultRate;
    if (u < edge) return { kind: 'transient', errorCode: v < 0.5 ? 50004 : 50005, delayMs };
    edge += o.lostRate;
    if (u < edge) return { kind: 'lost', delayMs };
    edge += o.appliedFaultRate ?? 0;
    if (u < edge) return { kind: 'applied', answer: v < 0.5 ? 50004 : 'http502', delayMs };
    edge += o.malformedRate ?? 0;
    if (u < edge) {
      const variant = MALFORMED_VARIANTS[Math.floor(v * MALFORMED_VARIANTS.length)] ?? 'html';
      return { kind: 'malformed', variant, delayMs };
    }
    for (const [errorCode, rate] of this.#mix) {
      edge += rate;
      if (u < edge) return { kind: 'mix', errorCode, delayMs };
    }
    return { kind: 'none', delayMs };
  }

  /**
   * The fate of one item (undefined: none). Transient items (`itemFaultRate`, 50004/50005) were
   * applied half of the time; items of the mix never were.
   */
  decideItem(): ItemFault | undefined {
    const o = this.#options;
    const transient = o.itemFaultRate ?? 0;
    if (transient === 0 && this.#itemMix.length === 0) return undefined;
    const u = this.#itemRandom();
    if (u < transient) {
      // Reuse the draw: its position within [0, transient) picks the code and whether it landed.
      const x = u / transient;
      return { resultCode: x < 0.5 ? 50004 : 50005, applied: x < 0.25 || (x >= 0.5 && x < 0.75) };
    }
    let edge = transient;
    for (const [resultCode, rate] of this.#itemMix) {
      edge += rate;
      if (u < edge) return { resultCode, applied: false };
    }
    return undefined;
  }

  /** Starts the sequences again from the seed. */
  reset(): void {
    this.#random = mulberry32(this.#options.seed);
    this.#itemRandom = mulberry32(itemSeed(this.#options.seed));
  }
}

function sortedRates(rates: Readonly<Record<number, number>> | undefined): [number, number][] {
  return Object.entries(rates ?? {})
    .map(([code, rate]): [number, number] => [Number(code), rate])
    .sort((a, b) => a[0] - b[0]);
}

function itemSeed(seed: number): number {
  return (seed ^ 0x5bd1e995) >>> 0;
}
