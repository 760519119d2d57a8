import { signUserSig } from '../../src/tencent/usersig.js';

export const SDK_APP_ID = 1400000000;
export const SECRET_KEY = '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e';
export const ADMIN = 'administrator';

export interface CallOptions {
  sdkappid?: string | null;
  identifier?: string | null;
  usersig?: string | null;
  random?: string | null;
  contenttype?: string | null;
  method?: string;
  /** Sent as is when a string; JSON-encoded otherwise. */
  rawBody?: string;
}

/** The request URL of an endpoint, with a fresh admin UserSig unless overridden (`null` leaves a parameter out). */
export function apiUrl(
  base: string,
  command: string,
  o: CallOptions = {},
  service = 'recentcontact',
): string {
  const params: Record<string, string | null> = {
    sdkappid: o.sdkappid === undefined ? String(SDK_APP_ID) : o.sdkappid,
    identifier: o.identifier === undefined ? ADMIN : o.identifier,
    usersig:
      o.usersig === undefined
        ? signUserSig({ sdkAppId: SDK_APP_ID, secretKey: SECRET_KEY, identifier: ADMIN })
        : o.usersig,
    random: o.random === undefined ? String(Math.floor(Math.random() * 0xffffffff)) : o.random,
    contenttype: o.contenttype === undefined ? 'json' : o.contenttype,
  };
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null) query.set(k, v);
  return `${base}/v4/${service}/${command}?${query.toString()}`;
}

/** POSTs `body` and returns the HTTP status and the parsed JSON answer. */
export async function call(
  base: string,
  command: string,
  body: unknown,
  o: CallOptions = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(apiUrl(base, command, o), {
    method: o.method ?? 'POST',
    ...(o.method === 'GET' ? {} : { body: o.rawBody ?? JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) as Record<string, unknown> };
}
