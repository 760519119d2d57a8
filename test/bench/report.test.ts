import { describe, expect, it } from 'vitest';
import { table } from '../../bench/lib/report.js';

describe('table', () => {
  it('right-aligns columns of figures only', () => {
    const text = table(
      ['name', 'wall', 'ratio', 'calls'],
      [
        ['cgsync', '22.4 s', '1.118×', '4,000 / 4,000 / 0'],
        ['naive', '≈ 8.2 h', '1475.255×', '4,000 / 576,130 / 0'],
      ],
    );
    expect(text.split('\n')[1]).toBe('| :-- | --: | --: | :-- |');
    expect(text.split('\n')[3]).toBe('| naive | ≈ 8.2 h | 1475.255× | 4,000 / 576,130 / 0 |');
  });
});
