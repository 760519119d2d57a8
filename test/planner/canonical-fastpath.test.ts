import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../src/planner/canonical.js';
import { hashOperation } from '../../src/planner/operation-id.js';

describe('operation ids written without canonicalJson', () => {
  it('equal the canonical-JSON digest they replace', () => {
    const conv = fc.record({ type: fc.constantFrom(1 as const, 2 as const), id: fc.string() });
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.array(conv), fc.array(conv), (user, group, add, remove) => {
        const keys = (cs: { type: 1 | 2; id: string }[]) => cs.map((c) => `${c.type}:${c.id}`);
        const expected = sha256Hex(
          canonicalJson({ user, kind: 'update', group, add: keys(add), remove: keys(remove) }),
        ).slice(0, 16);
        expect(hashOperation({ kind: 'update', user, group, add, remove })).toBe(expected);
      }),
    );
  });
});
