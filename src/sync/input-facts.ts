import { createHash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { SyncError } from '../errors.js';

/**
 * What one pass over an input file tells about its bytes (last-input.ts): their sha256 and, when
 * every line has an even number of double quotes and every CR is followed by an LF, the multiset of
 * its lines after the first. A quoted field that holds a line break leaves an odd count on the line
 * where it opens (a quote inside a field is doubled), and without a lone CR the lines end only at
 * LF (or CRLF), so in such a file every line is one record: two of them with the same first line
 * (the header) and the same multiset of other lines hold the same rows, in another order.
 */
export interface InputFacts {
  readonly sha256: string;
  readonly bytes: number;
  /** Absent when a line has an odd number of double quotes or a CR not before an LF. */
  readonly lines?: LineSet;
}

export interface LineSet {
  /** sha256 (hex) of the first line's bytes (the header, with its BOM and CR if it has them). */
  readonly first: string;
  /** The other lines: the pieces between LFs, the empty one after a final LF not counted. */
  readonly count: number;
  /**
   * Their multiset digest: four 32-bit hashes of each line's bytes (FNV-style with four multipliers,
   * each finished with murmur3's mix and the line's length), summed lane by lane modulo 2^32, as 32
   * hex digits. The same lines in any order give the same sum; an accidental equal sum for other
   * lines is about as likely as a 128-bit collision.
   */
  readonly sum: string;
}

const QUOTE = 0x22;
const CR = 0x0d;

/** The lanes' multipliers: large odd constants (golden ratio, murmur3's, xxhash's). */
const MULTIPLIERS = [0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f] as const;
/** Each lane's start: FNV-1a's offset basis, varied. */
const SEEDS = [0x811c9dc5, 0x050c5d1f, 0x2166136d, 0x6a09e667] as const;

/** murmur3's finalizer: spreads every input bit over the 32 bits. */
function mix(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** The multiset of lines, fed with the file's bytes in order. */
class LineSetBuilder {
  #first = createHash('sha256');
  #inFirst = true;
  #h0 = SEEDS[0] as number;
  #h1 = SEEDS[1] as number;
  #h2 = SEEDS[2] as number;
  #h3 = SEEDS[3] as number;
  #length = 0;
  /** The current line has an odd number of double quotes so far. */
  #odd = false;
  /** The byte before was a CR. */
  #cr = false;
  /** A line ended with an odd number, or a CR was not before an LF: a record may span lines. */
  broken = false;
  readonly #sums = new Uint32Array(4);
  #count = 0;

  push(bytes: Buffer): void {
    let from = 0;
    if (this.#inFirst) {
      const end = bytes.indexOf(10);
      const part = end === -1 ? bytes : bytes.subarray(0, end);
      for (let i = 0; i < part.length; i++) {
        const b = part[i] as number;
        if (this.#cr) this.broken = true;
        this.#cr = b === CR;
        if (b === QUOTE) this.#odd = !this.#odd;
      }
      this.#first.update(part);
      if (end === -1) return;
      if (this.#odd) this.broken = true;
      this.#odd = false;
      this.#cr = false;
      this.#inFirst = false;
      from = end + 1;
    }
    // Locals in the loop (the hot path of the pass), fields between pieces.
    let h0 = this.#h0;
    let h1 = this.#h1;
    let h2 = this.#h2;
    let h3 = this.#h3;
    let length = this.#length;
    let odd = this.#odd;
    let cr = this.#cr;
    const [m0, m1, m2, m3] = MULTIPLIERS;
    for (let i = from; i < bytes.length; i++) {
      const b = bytes[i] as number;
      if (b === 10) {
        if (odd) this.broken = true;
        odd = false;
        cr = false;
        this.#add(h0, h1, h2, h3, length);
        h0 = SEEDS[0];
        h1 = SEEDS[1];
        h2 = SEEDS[2];
        h3 = SEEDS[3];
        length = 0;
        continue;
      }
      if (cr) this.broken = true;
      cr = b === CR;
      if (b === QUOTE) odd = !odd;
      h0 = Math.imul(h0 ^ b, m0);
      h1 = Math.imul(h1 ^ b, m1);
      h2 = Math.imul(h2 ^ b, m2);
      h3 = Math.imul(h3 ^ b, m3);
      length++;
    }
    this.#h0 = h0;
    this.#h1 = h1;
    this.#h2 = h2;
    this.#h3 = h3;
    this.#length = length;
    this.#odd = odd;
    this.#cr = cr;
  }

  #add(h0: number, h1: number, h2: number, h3: number, length: number): void {
    const sums = this.#sums;
    sums[0] = (sums[0] as number) + mix(h0 ^ length);
    sums[1] = (sums[1] as number) + mix(h1 ^ length);
    sums[2] = (sums[2] as number) + mix(h2 ^ length);
    sums[3] = (sums[3] as number) + mix(h3 ^ length);
    this.#count++;
  }

  /** The set, or undefined when a record may span lines ({@link broken}). */
  end(): LineSet | undefined {
    if (this.#odd || this.#cr) this.broken = true;
    if (this.broken) return undefined;
    // A last line without its LF counts; the empty piece after a final LF does not.
    if (!this.#inFirst && this.#length > 0) this.#add(this.#h0, this.#h1, this.#h2, this.#h3, this.#length);
    const sum = Array.from(this.#sums, (n) => n.toString(16).padStart(8, '0')).join('');
    return { first: this.#first.digest('hex'), count: this.#count, sum };
  }
}

/**
 * Reads `path` once, with one 1 MiB buffer (memory stays the same whatever the file's size).
 * Rejects with `SyncError('INTERRUPTED')` when `signal` aborts, with the file system's error otherwise.
 */
export async function inputFacts(path: string, signal?: AbortSignal): Promise<InputFacts> {
  const hash = createHash('sha256');
  const lines = new LineSetBuilder();
  const buffer = Buffer.allocUnsafe(1 << 20);
  let bytes = 0;
  let file: FileHandle | undefined;
  try {
    file = await open(path, 'r');
    for (;;) {
      if (signal?.aborted === true) {
        throw new SyncError(
          'INTERRUPTED',
          `Reading ${path} was interrupted`,
          { path },
          { cause: signal.reason },
        );
      }
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      bytes += bytesRead;
      hash.update(chunk);
      if (!lines.broken) lines.push(chunk);
    }
  } finally {
    await file?.close();
  }
  const set = lines.end();
  return { sha256: hash.digest('hex'), bytes, ...(set === undefined ? {} : { lines: set }) };
}
