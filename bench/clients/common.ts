import { parseArgs } from 'node:util';
import type { DesiredUser } from '../../src/model.js';
import { scanInput } from '../../src/reader/scan-input.js';
import { TencentClient } from '../../src/tencent/client.js';
import { ENDPOINTS, type Endpoint } from '../../src/tencent/wire.js';

/** Per-endpoint counters of a bench client. */
export interface ClientCounts {
  calls: number;
  rateLimited: number;
  retries: number;
  failures: number;
}

export function emptyCounts(): Record<Endpoint, ClientCounts> {
  const out = {} as Record<Endpoint, ClientCounts>;
  for (const e of ENDPOINTS) out[e] = { calls: 0, rateLimited: 0, retries: 0, failures: 0 };
  return out;
}

/**
 * `<client>.js <csv> --endpoint URL [--name value ...]`: the CSV, a client for the endpoint (credentials
 * from TENCENT_SDKAPPID / TENCENT_SECRET_KEY), and the extra string options with their defaults.
 */
export function clientArgs(defaults: Readonly<Record<string, string>>): {
  csv: string;
  client: TencentClient;
  values: Readonly<Record<string, string>>;
} {
  const options: Record<string, { type: 'string'; default?: string }> = { endpoint: { type: 'string' } };
  for (const [name, value] of Object.entries(defaults)) options[name] = { type: 'string', default: value };
  const { values, positionals } = parseArgs({ allowPositionals: true, options });
  const csv = positionals[0];
  const endpoint = values.endpoint;
  if (csv === undefined || typeof endpoint !== 'string')
    throw new Error('usage: <client> <csv> --endpoint <url>');
  const client = new TencentClient({
    sdkAppId: Number(process.env.TENCENT_SDKAPPID),
    secretKey: process.env.TENCENT_SECRET_KEY ?? '',
    admin: process.env.TENCENT_ADMIN ?? 'administrator',
    endpoint,
    connections: 64,
  });
  const out: Record<string, string> = {};
  for (const name of Object.keys(defaults)) out[name] = String(values[name]);
  return { csv, client, values: out };
}

/**
 * The CSV's users, through the project's reader (the clients differ from cgsync in how they call the
 * API, not in how they read the file, so the same data means the same memberships).
 */
export async function* readUsers(csv: string): AsyncGenerator<DesiredUser> {
  const scan = await scanInput(csv);
  yield* scan.users();
}

/** Prints the client's JSON result as the last stdout line. */
export function printResult(result: Record<string, unknown>): void {
  process.stdout.write(
    `${JSON.stringify({ ...result, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`,
  );
}

export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
