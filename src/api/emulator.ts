import {
  type EmulatorOptions,
  type RunningEmulator,
  startEmulator as startEmulatorServer,
} from '../emulator/index.js';
import { SyncError } from '../errors.js';

export type { EmulatorOptions, EmulatorStats, RunningEmulator } from '../emulator/index.js';

/** Every option of {@link startEmulator}: the type checker keeps this list complete. */
const KNOWN: Readonly<Record<keyof EmulatorOptions, true>> = {
  sdkAppId: true,
  secretKey: true,
  admin: true,
  host: true,
  port: true,
  allowNonLoopback: true,
  rateLimit: true,
  rateLimitWindowMs: true,
  latencyMs: true,
  jitterMs: true,
  faultRate: true,
  http502Rate: true,
  lostRate: true,
  appliedFaultRate: true,
  malformedRate: true,
  faultMix: true,
  itemFaultRate: true,
  itemFaultMix: true,
  itemsOneByOne: true,
  markedPerUser: true,
  contactItemRequired: true,
  oldGroupNameMaxBytes: true,
  seed: true,
  faultEndpoints: true,
  pageSize: true,
  duplicateNames: true,
  existingMember: true,
  knownUsers: true,
  stateFile: true,
  persistDebounceMs: true,
  httpThread: true,
};

/**
 * Starts the emulator of the five conversation-group endpoints (the README's "The emulator"), on
 * 127.0.0.1 and a free port unless told otherwise; give its `url` as a client's `endpoint`, with the
 * same `sdkAppId` and `secretKey`. Every option is checked first (an unknown one is refused).
 * Close it with `close()`.
 * @throws SyncError `USAGE` for an unknown option, `CONFIG` for a bad value.
 */
export async function startEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new SyncError('USAGE', 'startEmulator(): Expected the options to be an object');
  }
  const unknown = Object.keys(options).filter((key) => !Object.hasOwn(KNOWN, key));
  if (unknown.length > 0) {
    throw new SyncError(
      'USAGE',
      `startEmulator(): ${unknown.map((k) => `unknown option \`${k}\``).join('; ')} (known: ${Object.keys(KNOWN).join(', ')})`,
    );
  }
  return startEmulatorServer(options);
}
