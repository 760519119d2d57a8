import { describe, expect, it } from 'vitest';
import {
  classifyFailure,
  describeErrorCode,
  ERROR_CODES,
  type ErrorClass,
} from '../../src/tencent/error-codes.js';

const api = (errorCode: number) => classifyFailure({ kind: 'api', errorCode });

describe('classifyFailure', () => {
  const table: [ErrorClass, number[]][] = [
    ['transient', [50004, 50005, 60008, 70169, 70500]],
    ['rate_limited', [60007, 60011, 60018, 60019]],
    ['resign', [70001, 70052]],
    [
      'fatal',
      [50003, 51013, 60006, 60010, 60016, 60017, 60021, 70009, 70013, 70014, 70016, 70020, 70050, 70403],
    ],
    ['permanent', [50001, 50002, 51006, 51007, 51008, 51009, 51010, 51011, 51012, 70107]],
  ];

  it.each(table)('API codes classed %s', (expected, codes) => {
    expect(codes.map((c) => [c, api(c)])).toEqual(codes.map((c) => [c, expected]));
  });

  it('51013 (the edition lacks conversation groups) is fatal, unlike the other 5100x codes', () => {
    expect(api(51013)).toBe('fatal');
    expect([51006, 51007, 51008, 51009, 51010, 51011, 51012].map(api)).toEqual(Array(7).fill('permanent'));
  });

  it('unknown API codes are permanent, and described as unknown', () => {
    for (const code of [0, 1, 12345, 59999, 79999, -1]) expect(api(code)).toBe('permanent');
    expect(describeErrorCode(12345)).toBe('unknown error code');
  });

  it('HTTP: 5xx and 408 transient, 429 rate limited, other statuses fatal', () => {
    const http = (status: number) => classifyFailure({ kind: 'http', status });
    expect([500, 502, 503, 504, 599, 408].map(http)).toEqual(Array(6).fill('transient'));
    expect(http(429)).toBe('rate_limited');
    expect([400, 401, 403, 404, 301].map(http)).toEqual(Array(5).fill('fatal'));
  });

  it('network errors and timeouts are transient', () => {
    expect(classifyFailure({ kind: 'network', cause: 'ECONNRESET' })).toBe('transient');
    expect(classifyFailure({ kind: 'timeout' })).toBe('transient');
  });

  it('an answer of an unexpected shape is its own class, and fatal once repeated', () => {
    expect(classifyFailure({ kind: 'unexpected', repeated: false })).toBe('unexpected');
    expect(classifyFailure({ kind: 'unexpected', repeated: true })).toBe('fatal');
  });
});

describe('ERROR_CODES', () => {
  it('describes every code it classifies', () => {
    expect(ERROR_CODES.size).toBeGreaterThan(40);
    for (const [code, info] of ERROR_CODES) {
      expect(info.meaning.length, String(code)).toBeGreaterThan(5);
      expect(describeErrorCode(code)).toBe(info.meaning);
    }
  });

  it('holds every code the official conversation-group pages list', () => {
    const documented = [
      50001, 50002, 50003, 50004, 50005, 51006, 51007, 51008, 51009, 51010, 51011, 51012, 51013,
    ];
    expect(documented.filter((c) => !ERROR_CODES.has(c))).toEqual([]);
  });
});
