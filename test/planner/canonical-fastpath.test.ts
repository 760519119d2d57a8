import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../src/planner/canonical.js';
import { digestDesired, foldDesired } from '../../src/planner/normalize.js';
import { hashOperation } from '../../src/planner/operation-id.js';

const conv = fc.record({ type: fc.constantFrom(1 as const, 2 as const), id: fc.string() });
const keys = (cs: readonly { type: 1 | 2; id: string }[]) => cs.map((c) => `${c.type}:${c.id}`);

describe('operation ids written without canonicalJson', () => {
  it('equal the canonical-JSON digest they replace', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.array(conv), fc.array(conv), (user, group, add, remove) => {
        const expected = sha256Hex(
          canonicalJson({ user, kind: 'update', group, add: keys(add), remove: keys(remove) }),
        ).slice(0, 16);
        expect(hashOperation({ kind: 'update', user, group, add, remove })).toBe(expected);
        // The planner may hand over the keys it already has: same id.
        expect(hashOperation({ kind: 'update', user, group, add, remove, addKeys: keys(add) })).toBe(
          expected,
        );
        expect(hashOperation({ kind: 'create', user, group, add, addKeys: keys(add) })).toBe(
          sha256Hex(canonicalJson({ user, kind: 'create', group, add: keys(add), remove: [] })).slice(0, 16),
        );
      }),
    );
  });
});

describe('the desired digest written without canonicalJson', () => {
  it('equals the canonical-JSON digest of the sorted, deduplicated groups, whatever their order', () => {
    const group = fc.record({ name: fc.string(), conversations: fc.array(conv, { maxLength: 6 }) });
    fc.assert(
      fc.property(fc.string(), fc.array(group, { maxLength: 5 }), fc.boolean(), (user, groups, rejected) => {
        const byName = new Map<string, Set<string>>();
        for (const g of groups) {
          const set = byName.get(g.name) ?? new Set<string>();
          for (const k of keys(g.conversations)) set.add(k);
          byName.set(g.name, set);
        }
        const canonicalGroups = [...byName.keys()]
          .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
          .map((name) => ({
            name,
            conversations: [...byName.get(name)!].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
          }));
        const expected = sha256Hex(
          canonicalJson({ user, hasRejectedRows: rejected, groups: canonicalGroups }),
        );
        expect(digestDesired(user, foldDesired(groups), rejected)).toBe(expected);
      }),
    );
  });
});
