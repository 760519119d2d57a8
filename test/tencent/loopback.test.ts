import { describe, expect, it } from 'vitest';
import { isLoopbackHost, resolveBaseUrl } from '../../src/tencent/regions.js';

// Which hosts count as loopback: plain http goes only there (the client's --endpoint), and the
// emulator listens only there unless told otherwise (its --host, a raw string).

describe('isLoopbackHost', () => {
  it.each([
    'localhost',
    'LOCALHOST',
    '127.0.0.1',
    '127.1.2.3',
    '::1',
    '[::1]',
    '::ffff:127.0.0.1',
    '[::ffff:127.0.0.1]',
    '::ffff:127.255.0.9',
    // 127.0.0.0/8 mapped into IPv6, as a URL's hostname spells it.
    '[::ffff:7f00:1]',
    '::FFFF:7F01:203',
    '::ffff:7fff:ffff',
  ])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each([
    '',
    '::2',
    '::ffff:128.0.0.1',
    '::ffff:8000:1',
    '::fffe:7f00:1',
    '::ffff:7f0:1',
    '::ffff:7f00:12345',
    '::ffff:7f00:1:2',
    '::ffff:7g00:1',
    '1::ffff:7f00:1',
    '::ffff:7f00:',
    '::ffff:127.0.0',
    '127.0.0.1.2',
    '127.0.0.1x',
    'x127.0.0.1',
    'evil127.0.0.1',
    '::ffff:x127.0.0.1',
    'x::ffff:127.0.0.1',
    // Brackets count only around the whole host.
    'local]host',
    'l[ocalhost',
    '127.0.0.1]x',
  ])('%j is not', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('plain http to an IPv4-mapped loopback address', () => {
  it.each([
    ['http://[::ffff:127.0.0.1]:8080', 'http://[::ffff:7f00:1]:8080/'],
    ['http://[::ffff:127.1.2.3]/', 'http://[::ffff:7f01:203]/'],
  ])('%s is allowed (→ %s)', (endpoint, origin) => {
    expect(resolveBaseUrl({ endpoint }).href).toBe(origin);
  });

  it('http://[::ffff:10.0.0.1] is not', () => {
    expect(() => resolveBaseUrl({ endpoint: 'http://[::ffff:10.0.0.1]:8080' })).toThrow(
      'Plain http is allowed only to loopback, got host "[::ffff:a00:1]": use https',
    );
  });
});
