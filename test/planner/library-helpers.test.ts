import { describe, expect, it } from 'vitest';
import { compareCodeUnits } from '../../src/planner/canonical.js';
import {
  canonicalJson,
  chunk,
  emptyCallCounts,
  estimateDuration,
  type JsonValue,
  sha256Hex,
} from '../../src/planner/index.js';

// The planner's exported helpers (src/planner/index.ts, the library's surface), on the edges a caller meets.

describe('canonicalJson', () => {
  it('sorts keys at every depth, drops undefined values, keeps array order, writes no spaces', () => {
    // Values from a caller's object may be undefined: left out, as JSON.stringify does.
    const value = {
      b: 1,
      a: [3, { d: null, c: 'x', u: undefined }, [true]],
      e: undefined,
    } as unknown as JsonValue;
    expect(canonicalJson(value)).toBe('{"a":[3,{"c":"x","d":null},[true]],"b":1}');
    expect(canonicalJson({ b: { z: 1, y: 2 }, a: {} })).toBe('{"a":{},"b":{"y":2,"z":1}}');
    expect(canonicalJson([])).toBe('[]');
    expect(canonicalJson('a"b')).toBe('"a\\"b"');
    expect(canonicalJson(-0.5)).toBe('-0.5');
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('orders keys by code unit, not by locale or code point', () => {
    // 'B' < 'a' < 'é'; an astral character (a surrogate pair, D83D…) sorts before U+FFFF.
    expect(canonicalJson({ é: 1, a: 2, B: 3, '\uffff': 4, '😀': 5 })).toBe(
      '{"B":3,"a":2,"é":1,"😀":5,"\uffff":4}',
    );
    expect(['b', 'a', 'a', '😀', '\uffff', 'B'].sort(compareCodeUnits)).toEqual([
      'B',
      'a',
      'a',
      'b',
      '😀',
      '\uffff',
    ]);
    expect(compareCodeUnits('a', 'a')).toBe(0);
    expect(compareCodeUnits('a', 'b')).toBe(-1);
    expect(compareCodeUnits('b', 'a')).toBe(1);
  });

  it('refuses a number JSON cannot hold, wherever it is', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => canonicalJson({ a: [1, bad] })).toThrow(
        new TypeError(`Expected a finite number in canonical JSON, got ${bad}`),
      );
      expect(() => canonicalJson(bad)).toThrow(TypeError);
    }
  });

  it('equal values give equal digests whatever order their keys were built in', () => {
    const one = sha256Hex(canonicalJson({ user: 'u', groups: [{ name: 'g', conversations: ['1:a'] }] }));
    const two = sha256Hex(canonicalJson({ groups: [{ conversations: ['1:a'], name: 'g' }], user: 'u' }));
    expect(one).toBe(two);
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('chunk', () => {
  it('keeps a last, shorter slice, and a single slice when everything fits', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([1, 2, 3], 3)).toEqual([[1, 2, 3]]);
    expect(chunk([1, 2, 3], 1000)).toEqual([[1, 2, 3]]);
    expect(chunk([1, 2], 1)).toEqual([[1], [2]]);
  });

  it('refuses a size that is not a whole number from 1', () => {
    for (const size of [1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => chunk([1, 2, 3], size)).toThrow(
        new RangeError(`Expected \`size\` to be a whole number from 1 and up, got \`${size}\` (number)`),
      );
    }
    expect(() => chunk([1], '2' as unknown as number)).toThrow(/got `2` \(string\)$/);
  });
});

describe('estimateDuration', () => {
  const calls = { ...emptyCallCounts(), create_contact_group: 400, update_contact_group: 1000 };

  it('takes the default rate (200 per second) for an endpoint the rates leave out', () => {
    // create: 400 calls at the default 200/s = 2 s, more than update's 1000 at 1000/s.
    expect(estimateDuration(calls, { update_contact_group: 1000 })).toBe(2);
    expect(estimateDuration(calls, {})).toBe(5);
  });

  it('needs no rate for an endpoint without calls; refuses a rate that is not above 0 for one with calls', () => {
    expect(
      estimateDuration(calls, { create_contact_group: 400, update_contact_group: 500, del_contact_group: 0 }),
    ).toBe(2);
    for (const bad of [0, -1, Number.NaN]) {
      expect(() => estimateDuration(calls, { update_contact_group: bad })).toThrow(
        new RangeError(`Expected the rate of update_contact_group to be a number above 0, got \`${bad}\``),
      );
    }
    expect(estimateDuration(calls, 0.5)).toBe(2000);
  });
});
