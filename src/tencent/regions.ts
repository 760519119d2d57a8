import { SyncError } from '../errors.js';

/** Tencent Cloud Chat REST domains by region, with the documented backup domains. */
export const REGIONS = {
  china: { primary: 'console.tim.qq.com', backup: 'adminapi.my-imcloud.com' },
  singapore: { primary: 'adminapisgp.im.qcloud.com', backup: 'adminapisgp.my-imcloud.com' },
  seoul: { primary: 'adminapikr.im.qcloud.com', backup: 'adminapikr.my-imcloud.com' },
  tokyo: { primary: 'adminapijpn.im.qcloud.com', backup: 'adminapijpn.my-imcloud.com' },
  frankfurt: { primary: 'adminapiger.im.qcloud.com', backup: 'adminapiger.my-imcloud.com' },
  mumbai: { primary: 'adminapiind.im.qcloud.com', backup: 'adminapiind.my-imcloud.com' },
  'silicon-valley': { primary: 'adminapiusa.im.qcloud.com', backup: 'adminapiusa.my-imcloud.com' },
  jakarta: { primary: 'adminapiidn.im.qcloud.com', backup: 'adminapiidn.my-imcloud.com' },
} as const satisfies Record<string, { primary: string; backup: string }>;

export type Region = keyof typeof REGIONS;

export function isRegion(value: string): value is Region {
  return Object.hasOwn(REGIONS, value);
}

/**
 * The base URL for a region (`https://domain`), its backup with `backup: true`,
 * or a custom `endpoint`. Plain http is allowed only to loopback.
 */
export function resolveBaseUrl(target: { region?: string; endpoint?: string; backup?: boolean }): URL {
  if (target.endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(target.endpoint);
    } catch {
      throw new SyncError(
        'CONFIG',
        `Expected --endpoint to be a URL such as http://127.0.0.1:8080, got "${target.endpoint}"`,
      );
    }
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      throw new SyncError(
        'CONFIG',
        `Plain http is allowed only to loopback, got host "${url.hostname}": use https`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new SyncError('CONFIG', `Expected an http or https endpoint, got "${url.protocol}"`);
    }
    return new URL(url.origin);
  }
  const region = target.region ?? 'singapore';
  if (!isRegion(region)) {
    throw new SyncError(
      'CONFIG',
      `Unknown region "${region}": expected one of ${Object.keys(REGIONS).join(', ')}`,
    );
  }
  const domains = REGIONS[region];
  return new URL(`https://${target.backup === true ? domains.backup : domains.primary}`);
}

/**
 * True for 127.0.0.0/8, ::1 (also bracketed) and `localhost`, and for 127.0.0.0/8 mapped into IPv6
 * as written (`::ffff:127.0.0.1`) or as a URL's hostname spells it (`[::ffff:7f00:1]`).
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    h === 'localhost' ||
    h === '::1' ||
    /^(::ffff:)?127(\.\d{1,3}){3}$/.test(h) ||
    /^::ffff:7f[\da-f]{2}:[\da-f]{1,4}$/.test(h)
  );
}
