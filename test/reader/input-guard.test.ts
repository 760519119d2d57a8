import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstInvalidUtf8, InputGuard, InputProblem } from '../../src/reader/csv/input-guard.js';

/** Feeds `bytes` cut at the given offsets; returns the digest or the problem. */
function guardChunks(bytes: Buffer, cuts: number[]): { digest: string } | { problem: InputProblem } {
  const guard = new InputGuard();
  const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  let start = 0;
  try {
    for (const cut of [...points, bytes.length]) {
      guard.inspect(bytes.subarray(start, cut));
      start = cut;
    }
    return { digest: guard.finish() };
  } catch (error) {
    if (error instanceof InputProblem) return { problem: error };
    throw error;
  }
}

function strictDecodeFails(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return false;
  } catch {
    return true;
  }
}

describe('InputGuard', () => {
  it('accepts UTF-8 split at every possible chunk boundary and hashes the raw bytes', () => {
    const bytes = Buffer.from('\ufeffuser,group\nалиса,群组😀,é\n', 'utf8');
    const digest = createHash('sha256').update(bytes).digest('hex');
    for (let a = 0; a <= bytes.length; a++) {
      for (let b = a; b <= bytes.length; b += 3) {
        expect(guardChunks(bytes, [a, b])).toEqual({ digest });
      }
    }
  });

  it('reports the offset of an invalid byte whatever the chunking', () => {
    const bytes = Buffer.concat([Buffer.from('ab,群\n'), Buffer.from([0xe7, 0xbe]), Buffer.from('x\n')]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const result = guardChunks(bytes, [cut]);
      expect(result).toHaveProperty('problem');
      if ('problem' in result) expect(result.problem.offset).toBe(7);
    }
  });

  it('refuses NUL bytes, UTF-16 byte order marks and a truncated last character', () => {
    const nul = guardChunks(Buffer.from('a,b\nc\u0000d'), []);
    expect('problem' in nul && nul.problem.offset).toBe(5);
    const utf16 = guardChunks(Buffer.from('\ufeffuser', 'utf16le'), []);
    expect('problem' in utf16 && utf16.problem.message).toMatch(/UTF-16/);
    const truncated = guardChunks(Buffer.from([0x61, 0xf0, 0x9f, 0x98]), [2]);
    expect('problem' in truncated && truncated.problem.offset).toBe(1);
  });

  it('agrees with a fatal TextDecoder on arbitrary bytes and chunkings', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 40 }),
          fc.string({ unit: 'binary', maxLength: 20 }).map((s) => new Uint8Array(Buffer.from(s, 'utf8'))),
        ),
        fc.array(fc.nat(40), { maxLength: 4 }),
        (raw, cuts) => {
          const bytes = Buffer.from(raw);
          const result = guardChunks(bytes, cuts);
          const invalid = strictDecodeFails(bytes) || bytes.includes(0);
          expect('problem' in result).toBe(invalid);
          if ('problem' in result && !bytes.includes(0) && !(bytes[0] === 0xff && bytes[1] === 0xfe)) {
            expect(result.problem.offset).toBe(firstInvalidUtf8(bytes));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
