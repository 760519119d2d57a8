/**
 * Decides, in one pass and bounded memory, whether every user's rows are contiguous in the file.
 *
 * Sorted input (user IDs non-decreasing in code-unit order) is grouped by construction and needs no
 * memory. Grouped but unsorted input (e.g. `user_9` before `user_10`) is checked against an
 * open-addressing table of 64-bit hashes of the users already finished: a finished user showing up
 * again means "not grouped". The table is capped at `maxUsers` entries (16 MiB at the default 2^20);
 * past the cap an unsorted file is conservatively declared not grouped. Hash collisions can only make
 * a grouped file look ungrouped, which costs a partition pass, never a wrong result.
 */
export class OrderTracker {
  readonly #maxUsers: number;
  #current: string | undefined;
  #sorted = true;
  #grouped = true;
  #full = false;
  #size = 0;
  /** Pairs (h1, h2); (0, 0) is an empty slot (h2 always has its low bit set). */
  #table = new Uint32Array(2 * 1024);

  /** @param maxUsers finished users remembered before giving up on unsorted input. @default 2^20 */
  constructor(maxUsers = 1 << 20) {
    this.#maxUsers = maxUsers;
  }

  /** False as soon as a user's rows turned out not to be contiguous (or could not be proven so). */
  get grouped(): boolean {
    return this.#grouped;
  }

  /** True while the users seen are in ascending order (each user's rows contiguous). */
  get sorted(): boolean {
    return this.#grouped && this.#sorted;
  }

  /** Feeds the user of the next row. */
  observe(user: string): void {
    const previous = this.#current;
    if (user === previous || !this.#grouped) return;
    this.#current = user;
    if (previous === undefined) return;
    this.#remember(previous);
    // In a sorted prefix every finished user is below `previous`, so a larger user is new.
    if (this.#sorted && user > previous) return;
    this.#sorted = false;
    if (this.#full || this.#contains(user)) this.#grouped = false;
  }

  #remember(user: string): void {
    if (this.#full) return;
    if (this.#size >= this.#maxUsers) {
      this.#full = true;
      return;
    }
    const slots = this.#table.length / 2;
    if ((this.#size + 1) * 2 > slots) this.#grow();
    hash64(user, scratch);
    this.#insert(scratch[0]!, scratch[1]!);
  }

  #insert(h1: number, h2: number): void {
    const table = this.#table;
    const mask = table.length / 2 - 1;
    let slot = h1 & mask;
    for (;;) {
      const a = table[2 * slot]!;
      const b = table[2 * slot + 1]!;
      if (a === 0 && b === 0) {
        table[2 * slot] = h1;
        table[2 * slot + 1] = h2;
        this.#size++;
        return;
      }
      if (a === h1 && b === h2) return;
      slot = (slot + 1) & mask;
    }
  }

  #contains(user: string): boolean {
    hash64(user, scratch);
    const h1 = scratch[0]!;
    const h2 = scratch[1]!;
    const table = this.#table;
    const mask = table.length / 2 - 1;
    let slot = h1 & mask;
    for (;;) {
      const a = table[2 * slot]!;
      const b = table[2 * slot + 1]!;
      if (a === 0 && b === 0) return false;
      if (a === h1 && b === h2) return true;
      slot = (slot + 1) & mask;
    }
  }

  #grow(): void {
    const old = this.#table;
    this.#table = new Uint32Array(old.length * 2);
    this.#size = 0;
    for (let i = 0; i < old.length; i += 2) {
      const a = old[i]!;
      const b = old[i + 1]!;
      if (a !== 0 || b !== 0) this.#insert(a, b);
    }
  }
}

const scratch = new Uint32Array(2);

/**
 * Two 32-bit halves of a string hash (cyrb53's mixing, without folding to 53 bits), into `out`.
 * `out[1]` always has its low bit set so that (0, 0) never occurs.
 */
export function hash64(value: string, out: Uint32Array): void {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < value.length; i++) {
    const ch = value.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  out[0] = h1 >>> 0;
  out[1] = (h2 | 1) >>> 0;
}

/** A 32-bit hash of a string, for picking partitions. */
export function hash32(value: string): number {
  hash64(value, scratch);
  return scratch[0]!;
}
