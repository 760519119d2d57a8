import { describe, expect, it } from 'vitest';
import { isSyncError } from '../../src/errors.js';
import { isLoopbackHost, isRegion, REGIONS, resolveBaseUrl } from '../../src/tencent/regions.js';

// Reference §1.2, the official table with backups.
const DOCUMENTED: [string, string, string][] = [
  ['china', 'console.tim.qq.com', 'adminapi.my-imcloud.com'],
  ['singapore', 'adminapisgp.im.qcloud.com', 'adminapisgp.my-imcloud.com'],
  ['seoul', 'adminapikr.im.qcloud.com', 'adminapikr.my-imcloud.com'],
  ['tokyo', 'adminapijpn.im.qcloud.com', 'adminapijpn.my-imcloud.com'],
  ['frankfurt', 'adminapiger.im.qcloud.com', 'adminapiger.my-imcloud.com'],
  ['mumbai', 'adminapiind.im.qcloud.com', 'adminapiind.my-imcloud.com'],
  ['silicon-valley', 'adminapiusa.im.qcloud.com', 'adminapiusa.my-imcloud.com'],
  ['jakarta', 'adminapiidn.im.qcloud.com', 'adminapiidn.my-imcloud.com'],
];

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isSyncError(err, 'CONFIG')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a CONFIG error');
}

describe('regions', () => {
  it('has exactly the eight documented regions', () => {
    expect(Object.keys(REGIONS).sort()).toEqual(DOCUMENTED.map(([r]) => r).sort());
  });

  it.each(DOCUMENTED)('%s → https://%s, backup https://%s', (region, primary, backup) => {
    expect(isRegion(region)).toBe(true);
    expect(resolveBaseUrl({ region }).href).toBe(`https://${primary}/`);
    expect(resolveBaseUrl({ region, backup: false }).href).toBe(`https://${primary}/`);
    expect(resolveBaseUrl({ region, backup: true }).href).toBe(`https://${backup}/`);
  });

  it('defaults to singapore', () => {
    expect(resolveBaseUrl({}).href).toBe('https://adminapisgp.im.qcloud.com/');
  });

  it('refuses an unknown region, listing the known ones', () => {
    expect(isRegion('Tokyo')).toBe(false);
    expect(isRegion('toString')).toBe(false);
    const message = configError(() => resolveBaseUrl({ region: 'toString' }));
    expect(message).toBe(
      `Unknown region "toString": expected one of ${DOCUMENTED.map(([r]) => r).join(', ')}`,
    );
  });
});

describe('endpoint', () => {
  it.each([
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080/'],
    ['http://127.0.0.1:8080/v4/recentcontact?x=1#f', 'http://127.0.0.1:8080/'],
    ['http://localhost:9000', 'http://localhost:9000/'],
    ['http://[::1]:9000', 'http://[::1]:9000/'],
    ['http://127.10.20.30', 'http://127.10.20.30/'],
    ['https://chat-proxy.example.com:8443/base', 'https://chat-proxy.example.com:8443/'],
    ['https://10.0.0.5', 'https://10.0.0.5/'],
  ])('%s → %s (origin only)', (endpoint, origin) => {
    expect(resolveBaseUrl({ endpoint }).href).toBe(origin);
  });

  it('wins over a region (resolveBaseUrl; the client refuses both)', () => {
    expect(resolveBaseUrl({ endpoint: 'http://127.0.0.1:1', region: 'tokyo' }).href).toBe(
      'http://127.0.0.1:1/',
    );
  });

  it.each([
    'http://chat.example.com',
    'http://10.0.0.1:8080',
    'http://0.0.0.0:8080',
    'http://127.0.0.1.nip.io',
    'http://localhost.example.com',
    'http://[::2]',
  ])('refuses plain http to non-loopback %s', (endpoint) => {
    expect(configError(() => resolveBaseUrl({ endpoint }))).toContain(
      'Plain http is allowed only to loopback',
    );
  });

  it('refuses non-http schemes and non-URLs', () => {
    expect(configError(() => resolveBaseUrl({ endpoint: 'ftp://127.0.0.1' }))).toBe(
      'Expected an http or https endpoint, got "ftp:"',
    );
    // Without a scheme, "localhost:" parses as the scheme.
    expect(configError(() => resolveBaseUrl({ endpoint: 'localhost:8080' }))).toBe(
      'Expected an http or https endpoint, got "localhost:"',
    );
    expect(configError(() => resolveBaseUrl({ endpoint: 'not a url' }))).toBe(
      'Expected --endpoint to be a URL such as http://127.0.0.1:8080, got "not a url"',
    );
  });

  it('isLoopbackHost', () => {
    expect(['localhost', '127.0.0.1', '127.255.255.254', '::1', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '128.0.0.1', '127.0.0.1.evil', 'localhost.evil', '::2', ''].some(isLoopbackHost)).toBe(
      false,
    );
  });
});
