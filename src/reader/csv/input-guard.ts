import { isUtf8 } from 'node:buffer';
import { createHash, type Hash } from 'node:crypto';

/** A byte-level problem found by {@link InputGuard}: where, and what. */
export class InputProblem extends Error {
  /** Absolute byte offset of the problem in the file. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(message);
    this.name = 'InputProblem';
    this.offset = offset;
  }
}

/**
 * Looks at every chunk of the file before the CSV parser does: counts bytes, hashes them (sha256 of
 * the raw bytes, BOM included), and refuses what is not UTF-8 text. Invalid UTF-8 is detected, never
 * replaced: `isUtf8` (simdutf) validates each chunk, with the 1–3 bytes of a character split across two
 * chunks carried over. A NUL byte means binary data or UTF-16, which are refused too.
 */
export class InputGuard {
  readonly #hash: Hash = createHash('sha256');
  #bytes = 0;
  /** Bytes of a character that started at the end of the previous chunk. */
  #carry: Buffer = Buffer.alloc(0);

  get bytes(): number {
    return this.#bytes;
  }

  /** Checks one chunk; throws {@link InputProblem} on the first bad byte. */
  inspect(chunk: Buffer): void {
    const start = this.#bytes;
    if (start === 0 && chunk.length >= 2 && isUtf16Bom(chunk)) {
      throw new InputProblem('the file is UTF-16 (it starts with a UTF-16 byte order mark)', 0);
    }
    const nul = chunk.indexOf(0);
    if (nul !== -1) {
      throw new InputProblem('NUL byte: the file looks binary or UTF-16', start + nul);
    }
    let body = chunk;
    if (this.#carry.length > 0) {
      // Complete the split character with the bytes it still needs, and validate it alone.
      const need = sequenceLength(this.#carry[0]!) - this.#carry.length;
      if (chunk.length < need) {
        this.#carry = Buffer.concat([this.#carry, chunk]);
        this.#hash.update(chunk);
        this.#bytes += chunk.length;
        return;
      }
      const joined = Buffer.concat([this.#carry, chunk.subarray(0, need)]);
      if (!isUtf8(joined)) this.#fail(joined, start - this.#carry.length);
      body = chunk.subarray(need);
      this.#carry = Buffer.alloc(0);
    }
    const cut = completeLength(body);
    const whole = cut === body.length ? body : body.subarray(0, cut);
    if (!isUtf8(whole)) this.#fail(whole, start + (chunk.length - body.length));
    if (cut < body.length) this.#carry = Buffer.from(body.subarray(cut));
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
  }

  /** Call at the end of the file. Returns the sha256 of all bytes, hex. */
  finish(): string {
    this.check();
    return this.digest();
  }

  /** Call at the end of the bytes to check: throws when they end inside a character. */
  check(): void {
    if (this.#carry.length > 0) {
      throw new InputProblem(
        'the file ends in the middle of a UTF-8 character',
        this.#bytes - this.#carry.length,
      );
    }
  }

  /** Adds bytes to the digest without checking them (another reader checks them). */
  hashOnly(chunk: Buffer): void {
    this.#hash.update(chunk);
  }

  /** The sha256 of every byte seen, hex. Once. */
  digest(): string {
    return this.#hash.digest('hex');
  }

  #fail(bytes: Buffer, offset: number): never {
    throw new InputProblem('invalid UTF-8 byte sequence', offset + firstInvalidUtf8(bytes));
  }
}

function isUtf16Bom(chunk: Buffer): boolean {
  return (chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff);
}

/** Length of the UTF-8 sequence a lead byte announces (1 for bytes that cannot lead: they fail later). */
function sequenceLength(lead: number): number {
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  return 1;
}

/** Length of the prefix of `buf` that does not end inside a multi-byte character. */
function completeLength(buf: Buffer): number {
  const end = buf.length;
  // A character is at most 4 bytes: look back at most 3 bytes for its lead byte.
  for (let back = 1; back <= 3 && back <= end; back++) {
    const byte = buf[end - back]!;
    if ((byte & 0xc0) !== 0x80) {
      // Found a non-continuation byte: the tail is incomplete when it announces more than `back` bytes.
      return sequenceLength(byte) > back ? end - back : end;
    }
  }
  return end;
}

/** Offset of the first byte of the first invalid sequence (only called when `isUtf8` said no). */
export function firstInvalidUtf8(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const n = sequenceLength(b);
    if (n === 1) return i;
    if (i + n > buf.length) return i;
    const b1 = buf[i + 1]!;
    // Reject overlong forms, surrogates and code points above U+10FFFF (RFC 3629 table).
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    if (b1 < lo || b1 > hi) return i;
    for (let k = 2; k < n; k++) {
      if ((buf[i + k]! & 0xc0) !== 0x80) return i;
    }
    i += n;
  }
  return buf.length;
}
